package containerfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/safepath"
)

// ErrNotFound is wrapped by the errors of paths that do not exist in the
// view; the caller words them with the container's name.
var ErrNotFound = errors.New("no such file or directory")

// absPath is the absolute, cleaned form of an untrusted container path, with
// a trailing "/" or "/." kept: they ask for the last component to be
// followed (and "/." for a directory's contents), as in Docker.
func absPath(unsafePath string) string {
	p := path.Clean("/" + unsafePath)
	switch {
	case p == "/":
	case strings.HasSuffix(unsafePath, "/."):
		p += "/."
	case strings.HasSuffix(unsafePath, "/"):
		p += "/"
	}
	return p
}

func followsLast(abs string) bool {
	return abs == "/" || strings.HasSuffix(abs, "/") || strings.HasSuffix(abs, "/.")
}

// entry is a resolved path: the directory holding it and its name there
// ("" for the directory itself, the root or a followed last component).
type entry struct {
	dir  *os.File
	name string
}

func (e entry) close() { e.dir.Close() }

func resolve(root *safepath.Root, abs string) (entry, error) {
	if followsLast(abs) {
		f, err := root.OpenFile(abs, unix.O_PATH, 0)
		if err != nil {
			return entry{}, classify(abs, err)
		}
		return entry{dir: f}, nil
	}
	dir, base, err := root.OpenParent(abs)
	if err != nil {
		return entry{}, classify(abs, err)
	}
	return entry{dir: dir, name: base}, nil
}

func (e entry) lstat() (*unix.Stat_t, error) {
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if e.name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	return &st, unix.Fstatat(int(e.dir.Fd()), e.name, &st, flags)
}

func classify(p string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return errdefs.NotFound(fmt.Errorf("%w: %s", ErrNotFound, p))
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
		return errdefs.InvalidParameter(fmt.Errorf("%s: %w", p, err))
	}
	return errdefs.System(err)
}

// Stat describes unsafePath in the view as HEAD /containers/{id}/archive
// does: the last component is not followed unless the path ends in "/" or
// "/."; a symlink's LinkTarget is its target resolved inside the root.
func Stat(root *safepath.Root, unsafePath string) (apicontainer.PathStat, error) {
	abs := absPath(unsafePath)
	e, err := resolve(root, abs)
	if err != nil {
		return apicontainer.PathStat{}, err
	}
	defer e.close()
	st, err := e.lstat()
	if err != nil {
		return apicontainer.PathStat{}, classify(abs, err)
	}
	ps := apicontainer.PathStat{
		Name:  path.Base(strings.TrimSuffix(abs, "/.")),
		Size:  st.Size,
		Mode:  fileMode(st.Mode),
		Mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
	}
	if abs == "/" {
		ps.Name = "/"
	}
	if ps.Mode&os.ModeSymlink != 0 {
		ps.LinkTarget = evalInRoot(root, abs)
	}
	return ps, nil
}

// Archive streams a tar of unsafePath in the view, its entries named after
// the path's last component (or "." for "dir/."), with the stat of the
// path. Nothing below a followed path is followed again.
func Archive(ctx context.Context, root *safepath.Root, unsafePath string) (io.ReadCloser, apicontainer.PathStat, error) {
	ps, err := Stat(root, unsafePath)
	if err != nil {
		return nil, ps, err
	}
	abs := absPath(unsafePath)
	e, err := resolve(root, abs)
	if err != nil {
		return nil, ps, err
	}
	name := ps.Name
	if strings.HasSuffix(abs, "/.") || abs == "/" {
		name = "."
	}
	pr, pw := io.Pipe()
	go func() {
		defer e.close()
		w := newTarWalker(ctx, pw)
		err := w.add(int(e.dir.Fd()), e.name, name)
		if err == nil {
			err = w.close()
		}
		pw.CloseWithError(err)
	}()
	return pr, ps, nil
}

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// NoChown keeps the extracting user as owner (unit tests).
	NoChown bool
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the other way round (the CLI always asks for it).
	NoOverwriteDirNonDir bool
	// Owner, when set, owns every extracted entry instead of the ids in
	// the tar (cp -a into a container that runs as a user).
	Owner *Owner
}

// Owner is a uid and gid.
type Owner struct{ UID, GID int }

// Extract unpacks the tar r into the directory unsafeDir of the view (its
// last component followed, inside the root). Entries are confined to that
// directory: "..", absolute names and links that point out of it are
// resolved inside it, so nothing lands elsewhere.
func Extract(ctx context.Context, root *safepath.Root, unsafeDir string, r io.Reader, opts ExtractOptions) error {
	abs := absPath(unsafeDir)
	dir, err := root.OpenFile(abs, unix.O_PATH, 0)
	if err != nil {
		return classify(abs, err)
	}
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		return errdefs.System(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return errdefs.InvalidParameterf("extraction point is not a directory")
	}
	dst, err := safepath.OpenRoot(safepath.ProcPath(dir, ""))
	if err != nil {
		return errdefs.System(err)
	}
	defer dst.Close()
	if opts.NoOverwriteDirNonDir || opts.Owner != nil {
		pr := filterEntries(r, dst, opts)
		// Unblocks the filter if extraction stops early.
		defer pr.Close()
		r = pr
	}
	_, err = archive.Apply(ctx, dst.Path(), r, archive.ApplyOptions{NoChown: opts.NoChown})
	if errors.Is(err, unix.EROFS) {
		return errdefs.Forbidden(fmt.Errorf("container rootfs is marked read-only"))
	}
	return err
}

// filterEntries passes the tar through, with its owners replaced when
// opts.Owner is set and, with NoOverwriteDirNonDir, failing it at an entry
// that would replace a directory in dst with a non-directory or a
// non-directory with a directory.
func filterEntries(r io.Reader, dst *safepath.Root, opts ExtractOptions) *io.PipeReader {
	return archive.MapTar(r, func(hdr *tar.Header) error {
		if opts.Owner != nil {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = opts.Owner.UID, opts.Owner.GID, "", ""
		}
		if st, serr := dst.Lstat(hdr.Name); opts.NoOverwriteDirNonDir && serr == nil {
			isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
			name := "/" + safepath.Clean(hdr.Name)
			switch {
			case isDir && hdr.Typeflag != tar.TypeDir:
				return errdefs.InvalidParameterf("cannot overwrite directory %q with non-directory %q", name, name)
			case !isDir && hdr.Typeflag == tar.TypeDir:
				return errdefs.InvalidParameterf("cannot overwrite non-directory %q with directory %q", name, name)
			}
		}
		return nil
	})
}

// Export streams the whole view as a tar, entries named relative to the
// root, without descending into pseudo filesystems.
func Export(ctx context.Context, root *safepath.Root) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		w := newTarWalker(ctx, pw)
		w.bare = true
		err := w.add(root.FD(), "", ".")
		if err == nil {
			err = w.close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// evalInRoot follows the symlinks of abs inside the root, lexically, the way
// a process chrooted there would, and returns the absolute result. A
// missing component ends the walk with the rest appended as is.
func evalInRoot(root *safepath.Root, abs string) string {
	todo := strings.Split(strings.Trim(abs, "/"), "/")
	cur := "/"
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		st, err := root.Lstat(next)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
			cur = next
			if err != nil {
				return path.Join(append([]string{cur}, todo...)...)
			}
			continue
		}
		if hops++; hops > 40 {
			return next
		}
		target, err := readlinkIn(root, next)
		if err != nil {
			return next
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur
}

func readlinkIn(root *safepath.Root, p string) (string, error) {
	dir, base, err := root.OpenParent(p)
	if err != nil {
		return "", err
	}
	defer dir.Close()
	return readlinkat(int(dir.Fd()), base)
}

func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
