package overlay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/storage"

	"golang.org/x/sys/unix"
)

// Name is how the driver is known, as in Docker.
const Name = "overlay2"

const linkDir = "l"

// Driver is the overlay layer store rooted at a home directory.
type Driver struct {
	home string
}

var _ storage.Driver = (*Driver)(nil)

// New opens (creating) the store at home after checking overlayfs works
// there.
func New(ctx context.Context, home string) (*Driver, error) {
	if err := os.MkdirAll(filepath.Join(home, linkDir), 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	if err := Supported(home); err != nil {
		return nil, err
	}
	d := &Driver{home: home}
	storage.PurgeTrash(home)
	d.pruneLinks()
	return d, nil
}

// Supported reports whether overlayfs is available and can use home as its
// backing filesystem, by mounting a two-lower, one-upper overlay under it.
func Supported(home string) error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil || !bytes.Contains(b, []byte("\toverlay\n")) {
		return errdefs.Unavailable(errors.New("overlay2: the kernel does not support overlayfs"))
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return errdefs.System(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(home, &st); err == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return errdefs.Unavailable(fmt.Errorf("overlay2: %s is on overlayfs, which cannot be an upper layer", home))
	}
	probe, err := os.MkdirTemp(home, ".probe-")
	if err != nil {
		return errdefs.System(err)
	}
	defer os.RemoveAll(probe)
	for _, d := range []string{"l1", "l2", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(probe, d), 0o700); err != nil {
			return errdefs.System(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s:%s,upperdir=%s,workdir=%s",
		filepath.Join(probe, "l1"), filepath.Join(probe, "l2"), filepath.Join(probe, "upper"), filepath.Join(probe, "work"))
	merged := filepath.Join(probe, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return errdefs.Unavailable(fmt.Errorf("overlay2: overlayfs cannot be mounted on %s: %w", home, err))
	}
	unix.Unmount(merged, unix.MNT_DETACH)
	return nil
}

func (d *Driver) Name() string { return Name }

func (d *Driver) dir(id string) string { return filepath.Join(d.home, id) }

// MountPoint is <home>/<id>/merged.
func (d *Driver) MountPoint(id string) string { return filepath.Join(d.dir(id), "merged") }

func (d *Driver) Exists(id string) bool {
	if storage.ValidID(id) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(d.dir(id), "link"))
	return err == nil
}

func (d *Driver) Create(ctx context.Context, id, parent string) error {
	return d.create(id, parent, false)
}

func (d *Driver) CreateRW(ctx context.Context, id, parent string) error {
	return d.create(id, parent, true)
}

func (d *Driver) create(id, parent string, rw bool) (retErr error) {
	if err := storage.ValidID(id); err != nil {
		return err
	}
	var lower string
	if parent != "" {
		if !d.Exists(parent) {
			return storage.NotFound(parent)
		}
		pl, err := os.ReadFile(filepath.Join(d.dir(parent), "link"))
		if err != nil {
			return errdefs.System(err)
		}
		lower = linkDir + "/" + string(pl)
		if pp, err := os.ReadFile(filepath.Join(d.dir(parent), "lower")); err == nil && len(pp) > 0 {
			lower += ":" + string(pp)
		}
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
	sub := []string{"diff", "merged"}
	if rw {
		sub = append(sub, "work")
	}
	for _, s := range sub {
		if err := os.Mkdir(filepath.Join(dir, s), 0o755); err != nil {
			return errdefs.System(err)
		}
	}
	if lower != "" {
		if err := os.WriteFile(filepath.Join(dir, "lower"), []byte(lower), 0o600); err != nil {
			return errdefs.System(err)
		}
	}
	short := shortID()
	if err := os.Symlink(filepath.Join("..", id, "diff"), filepath.Join(d.home, linkDir, short)); err != nil {
		return errdefs.System(err)
	}
	// link last: its presence is what Exists checks.
	if err := os.WriteFile(filepath.Join(dir, "link"), []byte(short), 0o600); err != nil {
		os.Remove(filepath.Join(d.home, linkDir, short))
		return errdefs.System(err)
	}
	return nil
}

// shortID is 26 base32 characters, as overlay2 uses: 130 random bits in the
// fewest bytes of mount options.
func shortID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:26]
}

func (d *Driver) ApplyDiff(ctx context.Context, id string, r io.Reader) (int64, error) {
	if !d.Exists(id) {
		return 0, storage.NotFound(id)
	}
	return archive.Apply(ctx, filepath.Join(d.dir(id), "diff"), r, archive.ApplyOptions{Whiteouts: archive.WhiteoutOverlay})
}

func (d *Driver) lowers(id string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(d.dir(id), "lower"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errdefs.System(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), ":") {
		if l != "" {
			out = append(out, filepath.Join(d.home, l))
		}
	}
	return out, nil
}

func (d *Driver) Mounts(ctx context.Context, id string) ([]storage.MountSpec, error) {
	if !d.Exists(id) {
		return nil, storage.NotFound(id)
	}
	dir := d.dir(id)
	lowers, err := d.lowers(id)
	if err != nil {
		return nil, err
	}
	diff := filepath.Join(dir, "diff")
	_, werr := os.Stat(filepath.Join(dir, "work"))
	rw := werr == nil
	if !rw {
		lowers = append([]string{diff}, lowers...)
		if len(lowers) == 1 {
			return []storage.MountSpec{{Type: "bind", Source: diff, Options: []string{"rbind", "ro"}}}, nil
		}
		return []storage.MountSpec{{Type: "overlay", Source: "overlay", Options: []string{"ro", "lowerdir=" + strings.Join(lowers, ":")}}}, nil
	}
	if len(lowers) == 0 {
		return []storage.MountSpec{{Type: "bind", Source: diff, Options: []string{"rbind"}}}, nil
	}
	return []storage.MountSpec{{Type: "overlay", Source: "overlay", Options: []string{
		"index=off",
		"lowerdir=" + strings.Join(lowers, ":"),
		"upperdir=" + diff,
		"workdir=" + filepath.Join(dir, "work"),
	}}}, nil
}

// Diff is the tar of diff/ with overlay whiteouts turned into OCI ones. The
// layer should not be mounted writable while it is read.
func (d *Driver) Diff(ctx context.Context, id string) (io.ReadCloser, error) {
	if !d.Exists(id) {
		return nil, storage.NotFound(id)
	}
	return archive.Tar(ctx, filepath.Join(d.dir(id), "diff"), archive.TarOptions{Whiteouts: archive.WhiteoutOverlay}), nil
}

func (d *Driver) Size(ctx context.Context, id string) (int64, error) {
	if !d.Exists(id) {
		return 0, storage.NotFound(id)
	}
	return storage.DiskUsage(ctx, filepath.Join(d.dir(id), "diff"))
}

func (d *Driver) Layers(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(d.home)
	if err != nil {
		return nil, errdefs.System(err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != linkDir && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

func (d *Driver) Remove(ctx context.Context, id string) error {
	if err := storage.ValidID(id); err != nil {
		return err
	}
	dir := d.dir(id)
	if err := storage.Unmount(d.MountPoint(id)); err != nil {
		return err
	}
	if l, err := os.ReadFile(filepath.Join(dir, "link")); err == nil && len(l) > 0 && !strings.ContainsAny(string(l), "/.") {
		os.Remove(filepath.Join(d.home, linkDir, string(l)))
	}
	if err := storage.RemoveDir(d.home, dir); err != nil {
		return errdefs.System(fmt.Errorf("storage: removing layer %s: %w", id, err))
	}
	return nil
}

// pruneLinks removes short links whose layer is gone (a crash between the
// two steps of Remove or create).
func (d *Driver) pruneLinks() {
	ents, _ := os.ReadDir(filepath.Join(d.home, linkDir))
	for _, e := range ents {
		p := filepath.Join(d.home, linkDir, e.Name())
		if _, err := os.Stat(p); errors.Is(err, syscall.ENOENT) {
			os.Remove(p)
		}
	}
}

func (d *Driver) Close() error { return nil }
