package daemon

import (
	"context"

	apiimage "github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
)

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
		out[i].Tags = s.tagsOf(ctx, id)
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

func (s *Images) tagsOf(ctx context.Context, id digest.Digest) []string {
	img, err := s.store.Get(ctx, id.String())
	if err != nil {
		return nil
	}
	return img.RepoTags
}
