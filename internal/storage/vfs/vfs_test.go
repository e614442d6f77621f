package vfs

import (
	"context"
	"path/filepath"
	"testing"

	"berth/internal/storage"
	"berth/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		d, err := New(context.Background(), filepath.Join(t.TempDir(), "vfs"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
