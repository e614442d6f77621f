package vfs

import "berth/internal/storage"

// DiffPath is the layer's full copy; a layer's own files are at their
// paths in it.
func (d *Driver) DiffPath(id string) (string, error) {
	if !d.Exists(id) {
		return "", storage.NotFound(id)
	}
	return d.fs(id), nil
}
