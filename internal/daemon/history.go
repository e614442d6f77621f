package daemon

import (
	"context"

	apiimage "github.com/moby/moby/api/types/image"
)

// History lists the image's history, newest first, as docker history: an
// entry's ID is known while the parent chain is local, "<missing>" beyond.
func (s *Images) History(ctx context.Context, ref string) ([]apiimage.HistoryResponseItem, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	sizes, err := s.store.LayerSizes(ctx, img.ID)
	if err != nil {
		return nil, err
	}
	var out []apiimage.HistoryResponseItem
	layer := 0
	for _, h := range img.Config.History {
		item := apiimage.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Tags: []string{}}
		if h.Created != nil {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && layer < len(sizes) {
			item.Size = sizes[layer]
			layer++
		}
		out = append([]apiimage.HistoryResponseItem{item}, out...)
	}
	cur := img
	for i := range out {
		out[i].ID = cur.ID.String()
		if cur.RepoTags != nil {
			out[i].Tags = cur.RepoTags
		}
		if cur.Parent == "" {
			break
		}
		if cur, err = s.store.Get(ctx, cur.Parent.String()); err != nil {
			break
		}
	}
	if out == nil {
		out = []apiimage.HistoryResponseItem{}
	}
	return out, nil
}
