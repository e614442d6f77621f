package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// trashDir holds removed layers until their files are gone.
const trashDir = ".trash"

// RemoveDir takes dir (a layer's directory under home, already unmounted)
// out of the driver's namespace with one rename and deletes its files in
// the background. Removing a container is on the path of `run --rm`, and a
// layer's files need not be gone before the caller is told the layer is:
// nothing can reach them after the rename, and PurgeTrash finishes the job
// if the process dies first.
func RemoveDir(home, dir string) error {
	trash := filepath.Join(home, trashDir)
	if err := os.MkdirAll(trash, 0o700); err != nil {
		return os.RemoveAll(dir)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	dst := filepath.Join(trash, filepath.Base(dir)+"-"+hex.EncodeToString(b[:]))
	if err := os.Rename(dir, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return os.RemoveAll(dir)
	}
	go os.RemoveAll(dst)
	return nil
}

// PurgeTrash deletes what an earlier process left in the trash.
func PurgeTrash(home string) {
	_ = os.RemoveAll(filepath.Join(home, trashDir))
}
