package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/storage"
)

// Name is how the driver is known, as in Docker.
const Name = "vfs"

// Driver is the vfs layer store rooted at a home directory.
type Driver struct {
	home string
}

var _ storage.Driver = (*Driver)(nil)

// New opens (creating) the store at home.
func New(ctx context.Context, home string) (*Driver, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	storage.PurgeTrash(home)
	return &Driver{home: home}, nil
}

func (d *Driver) Name() string { return Name }

func (d *Driver) dir(id string) string { return filepath.Join(d.home, id) }
func (d *Driver) fs(id string) string  { return filepath.Join(d.home, id, "fs") }

// MountPoint is <home>/<id>/merged.
func (d *Driver) MountPoint(id string) string { return filepath.Join(d.dir(id), "merged") }

// Exists checks the "created" marker, written once the parent's copy is
// complete.
func (d *Driver) Exists(id string) bool {
	if storage.ValidID(id) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(d.dir(id), "created"))
	return err == nil
}

func (d *Driver) Create(ctx context.Context, id, parent string) error {
	return d.create(ctx, id, parent, false)
}

func (d *Driver) CreateRW(ctx context.Context, id, parent string) error {
	return d.create(ctx, id, parent, true)
}

func (d *Driver) create(ctx context.Context, id, parent string, rw bool) (retErr error) {
	if err := storage.ValidID(id); err != nil {
		return err
	}
	if parent != "" && !d.Exists(parent) {
		return storage.NotFound(parent)
	}
	dir := d.dir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errdefs.Conflictf("storage: layer %s already exists", id)
		}
		return errdefs.System(err)
	}
	defer func() {
		if retErr != nil {
			d.Remove(context.Background(), id)
		}
	}()
	for _, s := range []string{"fs", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, s), 0o755); err != nil {
			return errdefs.System(err)
		}
	}
	if parent != "" {
		tr := archive.Tar(ctx, d.fs(parent), archive.TarOptions{})
		_, err := archive.Apply(ctx, d.fs(id), tr, archive.ApplyOptions{})
		tr.Close()
		if err != nil {
			return fmt.Errorf("storage: copying layer %s: %w", parent, err)
		}
		// The root directory itself is not in the tar.
		if fi, err := os.Stat(d.fs(parent)); err == nil {
			os.Chmod(d.fs(id), fi.Mode().Perm())
		}
		if err := os.WriteFile(filepath.Join(dir, "parent"), []byte(parent), 0o600); err != nil {
			return errdefs.System(err)
		}
	}
	if rw {
		if err := os.WriteFile(filepath.Join(dir, "rw"), nil, 0o600); err != nil {
			return errdefs.System(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "created"), nil, 0o600); err != nil {
		return errdefs.System(err)
	}
	return nil
}

func (d *Driver) ApplyDiff(ctx context.Context, id string, r io.Reader) (int64, error) {
	if !d.Exists(id) {
		return 0, storage.NotFound(id)
	}
	return archive.Apply(ctx, d.fs(id), r, archive.ApplyOptions{Whiteouts: archive.WhiteoutDirect})
}

func (d *Driver) Mounts(ctx context.Context, id string) ([]storage.MountSpec, error) {
	if !d.Exists(id) {
		return nil, storage.NotFound(id)
	}
	opts := []string{"rbind"}
	if _, err := os.Stat(filepath.Join(d.dir(id), "rw")); err != nil {
		opts = append(opts, "ro")
	}
	return []storage.MountSpec{{Type: "bind", Source: d.fs(id), Options: opts}}, nil
}

// Diff compares the layer with its parent's copy.
func (d *Driver) Diff(ctx context.Context, id string) (io.ReadCloser, error) {
	if !d.Exists(id) {
		return nil, storage.NotFound(id)
	}
	opts := archive.TarOptions{}
	if p, err := os.ReadFile(filepath.Join(d.dir(id), "parent")); err == nil && d.Exists(string(p)) {
		opts.Parent = d.fs(string(p))
	}
	return archive.Tar(ctx, d.fs(id), opts), nil
}

func (d *Driver) Size(ctx context.Context, id string) (int64, error) {
	if !d.Exists(id) {
		return 0, storage.NotFound(id)
	}
	return storage.DiskUsage(ctx, d.fs(id))
}

func (d *Driver) Layers(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(d.home)
	if err != nil {
		return nil, errdefs.System(err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

func (d *Driver) Remove(ctx context.Context, id string) error {
	if err := storage.ValidID(id); err != nil {
		return err
	}
	if err := storage.Unmount(d.MountPoint(id)); err != nil {
		return err
	}
	// The marker goes first so a half-removed layer reads as unfinished.
	os.Remove(filepath.Join(d.dir(id), "created"))
	if err := storage.RemoveDir(d.home, d.dir(id)); err != nil {
		return errdefs.System(fmt.Errorf("storage: removing layer %s: %w", id, err))
	}
	return nil
}

func (d *Driver) Close() error { return nil }
