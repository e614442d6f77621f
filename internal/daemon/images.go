package daemon

import (
	"berth/internal/backend"
	"context"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apievents "github.com/moby/moby/api/types/events"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"
	"github.com/opencontainers/go-digest"

	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// Images is the image service.
type Images struct {
	store      *image.Store
	containers *container.Store
	events     *events.Bus
}

func (s *Images) publish(id digest.Digest, action apievents.Action, name string) {
	attrs := map[string]string{}
	if name != "" {
		attrs["name"] = name
	}
	s.events.Publish(apievents.ImageEventType, action, id.String(), attrs)
}

// Import makes a one-layer image from a rootfs tar, like docker import.
func (s *Images) Import(ctx context.Context, r io.Reader, opts backend.ImportOptions) (digest.Digest, error) {
	ref := ""
	if opts.Repo != "" {
		ref = opts.Repo
		if opts.Tag != "" {
			ref += ":" + opts.Tag
		}
	}
	img, err := s.store.Import(ctx, r, image.ImportOptions{Comment: opts.Message, Changes: opts.Changes, Ref: ref})
	if err != nil {
		return "", err
	}
	s.publish(img.ID, apievents.ActionImport, ref)
	if ref != "" {
		s.publish(img.ID, apievents.ActionTag, ref)
	}
	return img.ID, nil
}

// List returns image summaries, newest first.
func (s *Images) List(ctx context.Context, all bool, filters backend.Filters) ([]apiimage.Summary, error) {
	for k := range filters {
		switch k {
		case "dangling", "label", "before", "since", "reference", "until":
		default:
			return nil, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	keep, err := s.imageListFilter(ctx, all, filters)
	if err != nil {
		return nil, err
	}
	used := map[digest.Digest]int{}
	for _, c := range s.containers.List() {
		used[c.ImageID]++
	}
	imgs := s.store.List(ctx)
	sort.Slice(imgs, func(i, j int) bool { return created(imgs[i]).After(created(imgs[j])) })
	// Untagged images other images were built on (build steps) show
	// only with all, as in Docker.
	parents := map[digest.Digest]bool{}
	for _, img := range imgs {
		parents[img.Parent] = true
	}
	out := []apiimage.Summary{}
	for _, img := range imgs {
		if !matchImage(img, filters) || !keep(img) {
			continue
		}
		tags, digests := narrowRefs(img, filters)
		out = append(out, apiimage.Summary{
			ID: img.ID.String(), ParentID: img.Parent.String(), RepoTags: tags, RepoDigests: digests,
			Created: created(img).Unix(), Size: img.Size, SharedSize: -1, Labels: img.Config.Config.Labels,
			Containers: int64(used[img.ID]),
		})
	}
	return out, nil
}

func created(img *image.Image) time.Time {
	if img.Config.Created != nil {
		return *img.Config.Created
	}
	return time.Time{}
}

func matchImage(img *image.Image, f backend.Filters) bool {
	if vals := f["dangling"]; len(vals) > 0 {
		want := vals["true"] || vals["1"]
		if (len(img.RepoTags) == 0) != want {
			return false
		}
	}
	for v := range f["label"] {
		k, want, hasVal := strings.Cut(v, "=")
		got, ok := img.Config.Config.Labels[k]
		if !ok || (hasVal && got != want) {
			return false
		}
	}
	if vals := f["reference"]; len(vals) > 0 {
		match := false
		for v := range vals {
			for _, t := range img.RepoTags {
				repo, _, _ := strings.Cut(t, ":")
				if t == v || repo == v || globMatch(v, t) || globMatch(v, repo) {
					match = true
				}
			}
		}
		if !match {
			return false
		}
	}
	return true
}

// Get resolves an image for inspect and other services.
func (s *Images) Get(ctx context.Context, ref string) (*image.Image, error) {
	return s.store.Get(ctx, ref)
}

// Inspect renders Docker's image inspect document.
func (s *Images) Inspect(ctx context.Context, ref string) (*apiimage.InspectResponse, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	cfg := img.Config
	created := ""
	if cfg.Created != nil {
		created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	layers := make([]string, 0, len(cfg.RootFS.DiffIDs))
	for _, d := range cfg.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	tags, digests := img.RepoTags, img.RepoDigests
	if tags == nil {
		tags = []string{}
	}
	if digests == nil {
		digests = []string{}
	}
	ic := cfg.Config
	return &apiimage.InspectResponse{
		ID: img.ID.String(), RepoTags: tags, RepoDigests: digests,
		Comment: historyComment(cfg), Created: created, Author: cfg.Author,
		Config: &ic, Architecture: cfg.Architecture, Variant: cfg.Variant, Os: cfg.OS, OsVersion: cfg.OSVersion,
		Size:        img.Size,
		GraphDriver: &storage.DriverData{Name: s.store.DriverName(), Data: s.graphDriverData(ctx, img)},
		RootFS:      apiimage.RootFS{Type: "layers", Layers: layers},
		Metadata:    apiimage.Metadata{},
	}, nil
}

func historyComment(cfg dockerspec.DockerOCIImage) string {
	if n := len(cfg.History); n > 0 {
		return cfg.History[n-1].Comment
	}
	return ""
}

// Tag adds a reference to an image.
func (s *Images) Tag(ctx context.Context, src, repo, tag string) error {
	img, err := s.store.Get(ctx, src)
	if err != nil {
		return err
	}
	ref := repo
	if tag != "" {
		ref += ":" + tag
	}
	if err := s.store.Tag(ctx, img.ID, ref); err != nil {
		return err
	}
	s.publish(img.ID, apievents.ActionTag, familiarTagged(ref))
	return nil
}

// Delete implements docker rmi's rules: a name untags, and deletes the image
// with its last name; an ID deletes; containers using the image block it
// (running ones even with force).
func (s *Images) Delete(ctx context.Context, ref string, force, prune bool) ([]apiimage.DeleteResponse, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	short := img.ID.Encoded()[:12]
	byID := isIDRef(ref, img.ID)
	var users []*container.Snapshot
	for _, c := range s.containers.List() {
		if c.ImageID == img.ID {
			users = append(users, c)
		}
	}
	var out []apiimage.DeleteResponse
	if !byID {
		// Untag this name; the image goes only with its last name.
		if len(img.RepoTags) > 1 || (len(users) > 0 && force) {
			name, err := s.store.Untag(ctx, ref)
			if err != nil {
				return nil, err
			}
			s.publish(img.ID, apievents.ActionUnTag, name)
			return []apiimage.DeleteResponse{{Untagged: name}}, nil
		}
		if len(users) > 0 {
			return nil, errdefs.Conflictf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", ref, users[0].ID[:12], short)
		}
	} else {
		for _, c := range users {
			if c.State.IsRunning() {
				return nil, errdefs.Conflictf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s", short, c.ID[:12])
			}
		}
		if len(users) > 0 && !force {
			return nil, errdefs.Conflictf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s", short, users[0].ID[:12])
		}
		if len(img.RepoTags) > 1 && !force {
			return nil, errdefs.Conflictf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short)
		}
	}
	for _, t := range append([]string(nil), img.RepoTags...) {
		name, err := s.store.Untag(ctx, t)
		if err != nil {
			return out, err
		}
		s.publish(img.ID, apievents.ActionUnTag, name)
		out = append(out, apiimage.DeleteResponse{Untagged: name})
	}
	if len(users) > 0 {
		// Forced: the names are gone, the image stays for its containers.
		return out, nil
	}
	layers, err := s.store.Delete(ctx, img.ID)
	if err != nil {
		return out, err
	}
	out = append(out, apiimage.DeleteResponse{Deleted: img.ID.String()})
	for _, l := range layers {
		out = append(out, apiimage.DeleteResponse{Deleted: l.String()})
	}
	s.publish(img.ID, apievents.ActionDelete, "")
	return out, nil
}

func isIDRef(ref string, id digest.Digest) bool {
	r := strings.TrimPrefix(ref, "sha256:")
	return len(r) > 0 && strings.HasPrefix(id.Encoded(), r) && !strings.Contains(ref, "/") && !strings.Contains(r, ":")
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
