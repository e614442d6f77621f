package daemon

import (
	"context"
	"io"

	apievents "github.com/moby/moby/api/types/events"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"

	"berth/internal/image"
	"berth/internal/imagearchive"
)

// Save writes the named images as one archive (docker save).
func (s *Images) Save(ctx context.Context, names []string, w io.Writer) error {
	if err := imagearchive.Save(ctx, s.store, names, w); err != nil {
		return err
	}
	for _, n := range names {
		if img, err := s.store.Get(ctx, n); err == nil {
			s.publish(img.ID, apievents.ActionSave, "")
		}
	}
	return nil
}

// Load stores the images of an archive (docker load); out gets Docker's
// "Loaded image: …" lines.
func (s *Images) Load(ctx context.Context, r io.Reader, quiet bool, out func(line string)) error {
	loaded, err := imagearchive.Load(ctx, s.store, r, out)
	for _, l := range loaded {
		s.publish(l.ID, apievents.ActionLoad, "")
		for _, t := range l.Tags {
			s.publish(l.ID, apievents.ActionTag, t)
		}
	}
	return err
}

// History is docker history: the image's history entries newest first,
// with each layer's size and, walking the parent chain, the IDs and tags
// of the images stored locally.
func (s *Images) History(ctx context.Context, ref string) ([]apiimage.HistoryResponseItem, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	layers, err := s.store.LayerChain(ctx, img.ID)
	if err != nil {
		return nil, err
	}
	var out []apiimage.HistoryResponseItem
	n := 0
	for _, h := range img.Config.History {
		var size int64
		if !h.EmptyLayer && n < len(layers) {
			size = layers[n].Size
			n++
		}
		var created int64
		if h.Created != nil {
			created = h.Created.Unix()
		}
		out = append([]apiimage.HistoryResponseItem{{ID: "<missing>", Created: created, CreatedBy: h.CreatedBy, Comment: h.Comment, Size: size}}, out...)
	}
	id := img.ID
	for i := range out {
		out[i].ID = id.String()
		out[i].Tags = s.tagsOf(id)
		cur, err := s.store.Get(ctx, id.String())
		if err != nil || cur.Parent == "" {
			break
		}
		id = cur.Parent
	}
	if out == nil {
		out = []apiimage.HistoryResponseItem{}
	}
	return out, nil
}

func (s *Images) tagsOf(id digest.Digest) []string {
	img, err := s.store.Get(context.Background(), id.String())
	if err != nil {
		return nil
	}
	return img.RepoTags
}

// graphDriverData is the driver's description of the image's top layer,
// as Docker's inspect shows it (nil for drivers with none, like vfs).
func (s *Images) graphDriverData(ctx context.Context, img *image.Image) map[string]string {
	ids := img.Config.RootFS.DiffIDs
	if len(ids) == 0 {
		return nil
	}
	var chain digest.Digest
	for _, d := range ids {
		chain = image.ChainID(chain, d)
	}
	return s.store.LayerMetadata(ctx, chain)
}

// Parent is the ID of the image id was built or committed from, if any.
func (s *Images) Parent(ctx context.Context, ref string) (string, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.Parent.String(), nil
}
