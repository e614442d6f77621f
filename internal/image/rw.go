package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"berth/internal/errdefs"
	"berth/internal/storage"

	"github.com/opencontainers/go-digest"
)

func (s *Store) mountPath(containerID string) string {
	return filepath.Join(s.root, "mounts", containerID+".json")
}

// CreateRW makes the read-write layer of container containerID on top of
// image imageID.
func (s *Store) CreateRW(ctx context.Context, containerID string, imageID digest.Digest) error {
	if err := storage.ValidID(containerID); err != nil {
		return err
	}
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	s.mu.Lock()
	img := s.images[imageID]
	if img == nil {
		s.mu.Unlock()
		return errdefs.NotFoundf("No such image: %s", imageID)
	}
	if s.mounts[containerID] != nil {
		s.mu.Unlock()
		return errdefs.Conflictf("image: container %s already has a read-write layer", containerID)
	}
	rec := &mountRec{ContainerID: containerID, ImageID: imageID}
	var parentCache string
	if n := len(img.chain); n > 0 {
		rec.TopLayer = img.chain[n-1]
		parentCache = s.layers[rec.TopLayer].CacheID
	}
	// Reserve before the I/O so a concurrent image Delete keeps the layers.
	s.mounts[containerID] = rec
	s.mu.Unlock()

	err := s.driver.CreateRW(ctx, containerID, parentCache)
	if err == nil {
		err = writeJSONAtomic(s.mountPath(containerID), rec)
		if err != nil {
			s.driver.Remove(context.WithoutCancel(ctx), containerID)
		}
	}
	if err != nil {
		s.mu.Lock()
		delete(s.mounts, containerID)
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Store) mountRec(containerID string) (*mountRec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mounts[containerID]
	if m == nil {
		return nil, errdefs.NotFoundf("image: no read-write layer for container %s", containerID)
	}
	return m, nil
}

// Mount mounts the container's root filesystem and returns its path. It is
// idempotent, across daemon restarts too: an existing mount is reused.
func (s *Store) Mount(ctx context.Context, containerID string) (string, error) {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	if _, err := s.mountRec(containerID); err != nil {
		return "", err
	}
	target := s.driver.MountPoint(containerID)
	if mounted, err := storage.Mounted(target); err == nil && mounted {
		return target, nil
	}
	specs, err := s.driver.Mounts(ctx, containerID)
	if err != nil {
		return "", err
	}
	if err := storage.Mount(specs, target); err != nil {
		return "", fmt.Errorf("image: mounting container %s: %w", containerID, err)
	}
	return target, nil
}

// Unmount unmounts the container's root filesystem; not mounted is fine.
func (s *Store) Unmount(ctx context.Context, containerID string) error {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	if _, err := s.mountRec(containerID); err != nil {
		return err
	}
	return storage.Unmount(s.driver.MountPoint(containerID))
}

// RemoveRW unmounts and deletes the container's read-write layer. An
// unknown container is not an error.
func (s *Store) RemoveRW(ctx context.Context, containerID string) error {
	if err := storage.ValidID(containerID); err != nil {
		return err
	}
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	if err := s.driver.Remove(ctx, containerID); err != nil {
		return err
	}
	if err := removeSynced(s.mountPath(containerID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	delete(s.mounts, containerID)
	s.mu.Unlock()
	return nil
}

// RWSize is the size of the files the container wrote or changed.
func (s *Store) RWSize(ctx context.Context, containerID string) (int64, error) {
	if _, err := s.mountRec(containerID); err != nil {
		return 0, err
	}
	return s.driver.Size(ctx, containerID)
}

// RWDiff streams the container's changes to its image as a layer tar (for
// commit). Unmount or pause the container first for a consistent view.
func (s *Store) RWDiff(ctx context.Context, containerID string) (io.ReadCloser, error) {
	if _, err := s.mountRec(containerID); err != nil {
		return nil, err
	}
	return s.driver.Diff(ctx, containerID)
}
