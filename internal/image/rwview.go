package image

import (
	"context"

	"berth/internal/storage"
)

// RWMounts describes how to present container containerID's root
// filesystem (its read-write layer on the image) without mounting it, for
// a caller that mounts it somewhere of its own (a private namespace).
func (s *Store) RWMounts(ctx context.Context, containerID string) ([]storage.MountSpec, error) {
	if _, err := s.mountRec(containerID); err != nil {
		return nil, err
	}
	return s.driver.Mounts(ctx, containerID)
}

// BaseMounts describes the read-only image below container containerID's
// read-write layer; nil for an image without layers.
func (s *Store) BaseMounts(ctx context.Context, containerID string) ([]storage.MountSpec, error) {
	rec, err := s.mountRec(containerID)
	if err != nil {
		return nil, err
	}
	if rec.TopLayer == "" {
		return nil, nil
	}
	s.mu.Lock()
	l := s.layers[rec.TopLayer]
	s.mu.Unlock()
	if l == nil {
		return nil, nil
	}
	return s.driver.Mounts(ctx, l.CacheID)
}
