package image

import (
	"context"

	"berth/internal/errdefs"

	"github.com/opencontainers/go-digest"
)

// LayerSizes returns the size of each of the image's layers, base first
// (for image history).
func (s *Store) LayerSizes(ctx context.Context, id digest.Digest) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.images[id]
	if rec == nil {
		return nil, errdefs.NotFoundf("No such image: %s", id)
	}
	out := make([]int64, len(rec.chain))
	for i, c := range rec.chain {
		if l := s.layers[c]; l != nil {
			out[i] = l.Size
		}
	}
	return out, nil
}
