package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"berth/internal/errdefs"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// MountSpec is one mount, in mount(8) terms, that presents a layer.
type MountSpec struct {
	Type    string   // "overlay" or "bind"
	Source  string   // host path for bind, "overlay" for overlay
	Options []string // mount(8) style: "ro", "rbind", "lowerdir=...", ...
}

// Driver stores layers. See the package documentation for the life of a
// layer.
type Driver interface {
	// Name is the driver's name as `docker info` shows it ("overlay2", "vfs").
	Name() string
	// Create makes an empty read-only layer on parent ("" for none).
	Create(ctx context.Context, id, parent string) error
	// CreateRW makes a writable layer on parent.
	CreateRW(ctx context.Context, id, parent string) error
	// ApplyDiff extracts a layer tar (possibly compressed) into layer id and
	// returns the size of the files written.
	ApplyDiff(ctx context.Context, id string, r io.Reader) (int64, error)
	// Mounts describes how to present layer id with its parents.
	Mounts(ctx context.Context, id string) ([]MountSpec, error)
	// MountPoint is an existing directory owned by the driver where layer
	// id is meant to be mounted.
	MountPoint(id string) string
	// Diff streams the changes layer id makes to its parent as an OCI
	// layer tar (whiteouts as .wh. entries).
	Diff(ctx context.Context, id string) (io.ReadCloser, error)
	// Size is the disk usage of the files layer id itself holds.
	Size(ctx context.Context, id string) (int64, error)
	// Exists reports whether layer id is known.
	Exists(id string) bool
	// Layers lists every layer ID, finished or not, so an owner can remove
	// what it does not know after a crash.
	Layers(ctx context.Context) ([]string, error)
	// Remove deletes layer id, unmounting its mount point if needed. An
	// unknown id is not an error.
	Remove(ctx context.Context, id string) error
	Close() error
}

// ValidID rejects IDs that could name something other than a single
// directory entry of the driver's own.
func ValidID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") || len(id) > 128 || strings.HasPrefix(id, ".") {
		return errdefs.InvalidParameterf("storage: invalid layer id %q", id)
	}
	return nil
}

// ErrNotExist is wrapped by errors about unknown layers.
var ErrNotExist = errors.New("layer does not exist")

// NotFound classifies an unknown layer id.
func NotFound(id string) error {
	return errdefs.NotFound(fmt.Errorf("storage: %w: %s", ErrNotExist, id))
}

// Mount performs specs onto target, in order.
func Mount(specs []MountSpec, target string) error {
	for i, s := range specs {
		if err := mountOne(s, target); err != nil {
			for j := i - 1; j >= 0; j-- {
				unix.Unmount(target, unix.MNT_DETACH)
			}
			return err
		}
	}
	return nil
}

var pageSize = os.Getpagesize()

func mountOne(s MountSpec, target string) error {
	var flags uintptr
	var data []string
	for _, o := range s.Options {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "bind":
			flags |= unix.MS_BIND
		case "rbind":
			flags |= unix.MS_BIND | unix.MS_REC
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		default:
			data = append(data, o)
		}
	}
	if s.Type == "bind" {
		flags |= unix.MS_BIND
		if err := unix.Mount(s.Source, target, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return errdefs.System(fmt.Errorf("storage: bind mount %s on %s: %w", s.Source, target, err))
		}
		if flags&unix.MS_RDONLY != 0 {
			if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
				unix.Unmount(target, unix.MNT_DETACH)
				return errdefs.System(fmt.Errorf("storage: remount %s read-only: %w", target, err))
			}
		}
		return nil
	}
	opts := strings.Join(data, ",")
	if len(opts) < pageSize-1 {
		if err := unix.Mount(s.Source, target, s.Type, flags, opts); err != nil {
			return errdefs.System(fmt.Errorf("storage: mount %s on %s (%s): %w", s.Type, target, opts, err))
		}
		return nil
	}
	// mount(2) takes one page of options; the new mount API takes them one
	// by one, and overlay accepts a lower layer at a time ("lowerdir+").
	return fsmount(s.Type, s.Source, flags, data, target)
}

func fsmount(fstype, source string, flags uintptr, data []string, target string) error {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return errdefs.System(fmt.Errorf("storage: fsopen %s: %w", fstype, err))
	}
	defer unix.Close(fsfd)
	if source != "" {
		if err := unix.FsconfigSetString(fsfd, "source", source); err != nil {
			return errdefs.System(fmt.Errorf("storage: fsconfig source: %w", err))
		}
	}
	for _, o := range data {
		k, v, hasValue := strings.Cut(o, "=")
		if k == "lowerdir" {
			for _, l := range strings.Split(v, ":") {
				if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
					return errdefs.System(fmt.Errorf("storage: fsconfig lowerdir+ %s: %w", l, err))
				}
			}
			continue
		}
		if !hasValue {
			err = unix.FsconfigSetFlag(fsfd, k)
		} else {
			err = unix.FsconfigSetString(fsfd, k, v)
		}
		if err != nil {
			return errdefs.System(fmt.Errorf("storage: fsconfig %s: %w", o, err))
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return errdefs.System(fmt.Errorf("storage: fsconfig create %s: %w", fstype, err))
	}
	var attrs int
	if flags&unix.MS_RDONLY != 0 {
		attrs |= unix.MOUNT_ATTR_RDONLY
	}
	if flags&unix.MS_NOSUID != 0 {
		attrs |= unix.MOUNT_ATTR_NOSUID
	}
	if flags&unix.MS_NODEV != 0 {
		attrs |= unix.MOUNT_ATTR_NODEV
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return errdefs.System(fmt.Errorf("storage: fsmount %s: %w", fstype, err))
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return errdefs.System(fmt.Errorf("storage: move_mount to %s: %w", target, err))
	}
	return nil
}

// Unmount removes every mount stacked on target. Not mounted is not an
// error.
func Unmount(target string) error {
	for i := 0; i < 16; i++ {
		err := unix.Unmount(target, 0)
		switch err {
		case nil:
			continue
		case unix.EINVAL, unix.ENOENT:
			return nil
		case unix.EBUSY:
			// Something (a process's cwd, a leaked fd) pins it; detach so
			// the layer can still be removed once it lets go.
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				return errdefs.System(fmt.Errorf("storage: unmount %s: %w", target, err))
			}
		default:
			return errdefs.System(fmt.Errorf("storage: unmount %s: %w", target, err))
		}
	}
	return nil
}

// Mounted reports whether something is mounted exactly at target.
func Mounted(target string) (bool, error) {
	return mountinfo.Mounted(target)
}
