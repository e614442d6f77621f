package containerfs

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// mqueueMagic is mqueue's statfs type, which x/sys does not name.
const mqueueMagic = 0x19800202

// pseudoFS are kernel filesystems a running container has mounted (proc,
// sysfs, ...) whose files are not content: a walk lists the mount point
// but never descends into them.
var pseudoFS = map[int64]bool{
	unix.PROC_SUPER_MAGIC: true, unix.SYSFS_MAGIC: true, unix.CGROUP_SUPER_MAGIC: true,
	unix.CGROUP2_SUPER_MAGIC: true, unix.DEVPTS_SUPER_MAGIC: true, mqueueMagic: true,
	unix.DEBUGFS_MAGIC: true, unix.SECURITYFS_MAGIC: true, unix.TRACEFS_MAGIC: true,
	unix.BPF_FS_MAGIC: true,
}

// tarWalker writes a tree to a tar stream by descriptors only: each entry
// is opened relative to its parent directory with O_NOFOLLOW, so no
// symlink is ever followed, whatever the tree does while it is read.
type tarWalker struct {
	ctx   context.Context
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, ino) -> first tar name, for hard links
	// skip, when set, names entries (by tar name, directories without the
	// trailing slash) left out with everything below them.
	skip func(name string) bool
	// bare leaves out a top directory named "." and names what is in it
	// without a "./" prefix (export); otherwise "dir/." archives as
	// "./", "./f", ..., the names cp's clients rebase.
	bare bool
}

func newTarWalker(ctx context.Context, w io.Writer) *tarWalker {
	return &tarWalker{ctx: ctx, tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
}

func (w *tarWalker) close() error { return w.tw.Close() }

// add archives the entry name of directory dirfd as tarName, and what is
// below it when it is a directory.
func (w *tarWalker) add(dirfd int, name, tarName string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.skip != nil && w.skip(tarName) {
		return nil
	}
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(dirfd, name, &st, flags); err != nil {
		if err == unix.ENOENT {
			return nil // gone while we walked
		}
		return &os.PathError{Op: "lstat", Path: tarName, Err: err}
	}
	hdr := header(&st, tarName)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return nil // tar cannot hold one
	case unix.S_IFLNK:
		target, err := readlinkat(dirfd, name)
		if err != nil {
			return err
		}
		hdr.Linkname = target
	case unix.S_IFREG:
		if st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := w.links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				return w.tw.WriteHeader(hdr)
			}
			w.links[key] = tarName
		}
		return w.file(dirfd, name, hdr)
	case unix.S_IFDIR:
		return w.dir(dirfd, name, hdr)
	}
	return w.tw.WriteHeader(hdr)
}

func (w *tarWalker) file(dirfd int, name string, hdr *tar.Header) error {
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return &os.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	// The size that goes in the header is the one of the file opened,
	// which may differ from the earlier stat if something writes to it.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil // swapped for something else meanwhile
	}
	hdr.Size = st.Size
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyN(w.tw, f, hdr.Size)
	if err == io.EOF {
		// Truncated under us: pad, the header is already out.
		_, err = io.CopyN(w.tw, zeroReader{}, hdr.Size-n)
	}
	return err
}

func (w *tarWalker) dir(dirfd int, name string, hdr *tar.Header) error {
	if hdr.Name != "" && hdr.Name[len(hdr.Name)-1] != '/' {
		hdr.Name += "/"
	}
	if !(w.bare && hdr.Name == "./") {
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return &os.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	d := os.NewFile(uintptr(fd), hdr.Name)
	defer d.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err == nil && pseudoFS[int64(sfs.Type)] {
		return nil
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return &os.PathError{Op: "readdir", Path: hdr.Name, Err: err}
	}
	sort.Strings(names)
	prefix := hdr.Name
	if w.bare && prefix == "./" {
		prefix = ""
	}
	for _, n := range names {
		if err := w.add(fd, n, prefix+n); err != nil {
			return err
		}
	}
	return nil
}

// header fills a tar header from st; the caller sets links and sizes.
func header(st *unix.Stat_t, name string) *tar.Header {
	h := &tar.Header{
		Name: name,
		Mode: int64(st.Mode & 0o7777),
		Uid:  int(st.Uid),
		Gid:  int(st.Gid),
		// Whole seconds, as Docker's archives: a fraction would cost a
		// PAX record per entry.
		ModTime: time.Unix(st.Mtim.Sec, 0),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		h.Typeflag = tar.TypeReg
	case unix.S_IFDIR:
		h.Typeflag = tar.TypeDir
	case unix.S_IFLNK:
		h.Typeflag = tar.TypeSymlink
	case unix.S_IFCHR:
		h.Typeflag = tar.TypeChar
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		h.Typeflag = tar.TypeBlock
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	}
	return h
}

func openat(dirfd int, name string, flags int) (int, error) {
	if name == "" {
		// The directory itself: reopen it through its descriptor.
		return unix.Openat(dirfd, ".", flags|unix.O_CLOEXEC, 0)
	}
	return unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink %s: %w", name, err)
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, len(buf)*2)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
