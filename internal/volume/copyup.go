package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// CopyUp fills an empty volume with the content of src, a directory opened
// inside an image's rootfs (through safepath, by the caller). It is
// Docker's first-use copy: a volume that already holds anything is left as
// is. The walk stays on file descriptors relative to src and never follows
// a symlink, so image content cannot point the copy outside its rootfs.
func (s *Store) CopyUp(ctx context.Context, name string, src *os.File) error {
	v, err := s.Get(name)
	if err != nil {
		return err
	}
	empty, err := isEmptyDir(v.Mountpoint)
	if err != nil || !empty {
		return err
	}
	dst, err := os.Open(v.Mountpoint)
	if err != nil {
		return errdefs.System(err)
	}
	defer dst.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err == nil {
		// The volume root takes the image directory's owner and mode.
		_ = unix.Fchown(int(dst.Fd()), int(st.Uid), int(st.Gid))
		_ = unix.Fchmod(int(dst.Fd()), st.Mode&0o7777)
	}
	if err := copyDir(ctx, int(src.Fd()), int(dst.Fd())); err != nil {
		return errdefs.System(fmt.Errorf("copying image content into volume %s: %w", name, err))
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, errdefs.System(err)
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// copyDir copies the entries of srcfd into dstfd; both are directories.
func copyDir(ctx context.Context, srcfd, dstfd int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Read the names through a dup so closing it leaves srcfd open.
	dupfd, err := unix.Dup(srcfd)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dupfd), "src")
	if _, err := dir.Seek(0, io.SeekStart); err != nil {
		dir.Close()
		return err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := copyEntry(ctx, srcfd, dstfd, n); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

func copyEntry(ctx context.Context, srcfd, dstfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(srcfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dstfd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		sfd, err := unix.Openat(srcfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(sfd)
		dfd, err := unix.Openat(dstfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(dfd)
		if err := copyDir(ctx, sfd, dfd); err != nil {
			return err
		}
		_ = unix.Fchown(dfd, int(st.Uid), int(st.Gid))
		_ = unix.Fchmod(dfd, mode)
	case unix.S_IFREG:
		sfd, err := unix.Openat(srcfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		in := os.NewFile(uintptr(sfd), name)
		defer in.Close()
		dfd, err := unix.Openat(dstfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		out := os.NewFile(uintptr(dfd), name)
		defer out.Close()
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		_ = unix.Fchown(dfd, int(st.Uid), int(st.Gid))
		_ = unix.Fchmod(dfd, mode)
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(srcfd, name, buf)
		if err != nil {
			return err
		}
		// The target is copied verbatim: it is only ever resolved inside
		// the container, never by berth.
		if err := unix.Symlinkat(string(buf[:n]), dstfd, name); err != nil {
			return err
		}
		_ = unix.Fchownat(dstfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
		return nil
	case unix.S_IFIFO:
		if err := unix.Mkfifoat(dstfd, name, mode); err != nil {
			return err
		}
		_ = unix.Fchownat(dstfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
	default:
		// Devices and sockets are not copied into volumes.
		return nil
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	_ = unix.UtimesNanoAt(dstfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
	return nil
}

// volumeDir is the directory of a volume's files, for tests.
func volumeDir(root, name string) string { return filepath.Join(root, name, "_data") }
