package daemon

import (
	"context"
	"strconv"
	"strings"
	"time"

	apievents "github.com/moby/moby/api/types/events"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// Prune is POST /images/prune: dangling images (untagged, not a parent
// of another) by default, with dangling=false every image; in both cases
// only images no container uses, filtered by until and label/label!.
func (s *Images) Prune(ctx context.Context, f backend.Filters) (apiimage.PruneReport, error) {
	for k := range f {
		switch k {
		case "dangling", "until", "label", "label!":
		default:
			return apiimage.PruneReport{}, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	dangling := true
	if b, err := boolFilter(f, "dangling"); err != nil {
		return apiimage.PruneReport{}, err
	} else if b != nil {
		dangling = *b
	}
	until, err := imageUntil(f, time.Now())
	if err != nil {
		return apiimage.PruneReport{}, err
	}
	used := map[digest.Digest]bool{}
	for _, c := range s.containers.List() {
		used[c.ImageID] = true
	}
	imgs := s.store.List(ctx)
	parents := map[digest.Digest]bool{}
	for _, img := range imgs {
		if img.Parent != "" {
			parents[img.Parent] = true
		}
	}
	var rep apiimage.PruneReport
	for _, img := range imgs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if used[img.ID] || (dangling && (len(img.RepoTags) > 0 || parents[img.ID])) {
			continue
		}
		if !until.IsZero() && !created(img).Before(until) {
			continue
		}
		if !labelsMatch(img.Config.Config.Labels, f["label"], true) || !labelsMatch(img.Config.Config.Labels, f["label!"], false) {
			continue
		}
		dels, reclaimed, err := s.pruneOne(ctx, img)
		rep.ImagesDeleted = append(rep.ImagesDeleted, dels...)
		rep.SpaceReclaimed += reclaimed
		if err != nil && !errdefs.IsNotFound(err) {
			return rep, err
		}
	}
	s.events.Publish(apievents.ImageEventType, apievents.ActionPrune, "", map[string]string{"reclaimed": strconv.FormatUint(rep.SpaceReclaimed, 10)})
	return rep, nil
}

// pruneOne untags img and deletes it with the layers nothing else uses.
func (s *Images) pruneOne(ctx context.Context, img *image.Image) ([]apiimage.DeleteResponse, uint64, error) {
	sizes := map[digest.Digest]int64{}
	if layers, err := s.store.LayerChain(ctx, img.ID); err == nil {
		for _, l := range layers {
			sizes[l.ChainID] = l.Size
		}
	}
	var out []apiimage.DeleteResponse
	for _, ref := range append(append([]string(nil), img.RepoTags...), img.RepoDigests...) {
		name, err := s.store.Untag(ctx, ref)
		if err != nil {
			continue
		}
		s.publish(img.ID, apievents.ActionUnTag, name)
		out = append(out, apiimage.DeleteResponse{Untagged: name})
	}
	layers, err := s.store.Delete(ctx, img.ID)
	if err != nil {
		return out, 0, err
	}
	s.publish(img.ID, apievents.ActionDelete, "")
	out = append(out, apiimage.DeleteResponse{Deleted: img.ID.String()})
	var reclaimed uint64
	for _, l := range layers {
		out = append(out, apiimage.DeleteResponse{Deleted: l.String()})
		reclaimed += uint64(sizes[l])
	}
	return out, reclaimed, nil
}

// imageUntil reads the until filter: a Go duration before now ("24h"),
// a Unix time ("1700000000", "1700000000.5") or an RFC 3339 style date.
func imageUntil(f backend.Filters, now time.Time) (time.Time, error) {
	var out time.Time
	for v := range f["until"] {
		t, err := parseUntil(v, now)
		if err != nil {
			return time.Time{}, errdefs.InvalidParameterf("invalid filter 'until=%s': %v", v, err)
		}
		out = t
	}
	return out, nil
}

// imageListFilter is the part of GET /images/json's filters that needs
// other images or the clock: before, since (image references) and until;
// and, without all, the hiding of intermediate images (untagged parents).
func (s *Images) imageListFilter(ctx context.Context, all bool, f backend.Filters) (func(*image.Image) bool, error) {
	var before, since time.Time
	for key, dst := range map[string]*time.Time{"before": &before, "since": &since} {
		for ref := range f[key] {
			img, err := s.store.Get(ctx, ref)
			if err != nil {
				return nil, err
			}
			*dst = created(img)
		}
	}
	until, err := imageUntil(f, time.Now())
	if err != nil {
		return nil, err
	}
	parents := map[digest.Digest]bool{}
	if !all {
		for _, img := range s.store.List(ctx) {
			if img.Parent != "" {
				parents[img.Parent] = true
			}
		}
	}
	return func(img *image.Image) bool {
		c := created(img)
		switch {
		case !before.IsZero() && !c.Before(before),
			!since.IsZero() && !c.After(since),
			!until.IsZero() && !c.Before(until),
			!all && len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 && parents[img.ID]:
			return false
		}
		return true
	}, nil
}

// narrowRefs is the image's tags and digests, only those matching the
// reference filter when there is one, as Docker lists them.
func narrowRefs(img *image.Image, f backend.Filters) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	match := func(ref string) bool {
		if len(f["reference"]) == 0 {
			return true
		}
		repo := ref
		if i := strings.IndexAny(ref, "@"); i >= 0 {
			repo = ref[:i]
		} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			repo = ref[:i]
		}
		for v := range f["reference"] {
			if ref == v || repo == v || globMatch(v, ref) || globMatch(v, repo) {
				return true
			}
		}
		return false
	}
	for _, t := range img.RepoTags {
		if match(t) {
			tags = append(tags, t)
		}
	}
	for _, d := range img.RepoDigests {
		if match(d) {
			digests = append(digests, d)
		}
	}
	return tags, digests
}
