package archive

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

	"berth/internal/errdefs"
	"berth/internal/safepath"

	"golang.org/x/sys/unix"
)

// WhiteoutFormat says how deletions recorded in a layer are applied.
type WhiteoutFormat int

const (
	// WhiteoutDirect applies deletions to the tree: the extraction root
	// already holds the lower layers' files (a copy-based driver).
	WhiteoutDirect WhiteoutFormat = iota
	// WhiteoutOverlay records deletions the way overlayfs reads them in an
	// upper or lower directory: a 0/0 character device per deleted name and
	// trusted.overlay.opaque=y on a directory that hides the layers below.
	WhiteoutOverlay
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	paxXattrPrefix = "SCHILY.xattr."
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	Whiteouts WhiteoutFormat
	// NoChown leaves ownership to the extracting user (tests as non-root).
	NoChown bool
}

// Apply extracts the layer tar r (plain or compressed) into root, which must
// exist, and returns the sum of the regular file sizes it wrote. The whole
// of r is consumed on success, so a digest computed over what r yields
// covers trailing padding too.
func Apply(ctx context.Context, root string, r io.Reader, opts ApplyOptions) (int64, error) {
	dr, err := DecompressStream(r)
	if err != nil {
		return 0, err
	}
	defer dr.Close()
	sr, err := safepath.OpenRoot(root)
	if err != nil {
		return 0, err
	}
	defer sr.Close()
	x := &extractor{ctx: ctx, root: sr, opts: opts, seen: map[string]bool{}}
	defer x.dropParent()
	size, err := x.run(tar.NewReader(dr))
	if err != nil {
		return size, err
	}
	// Whatever follows the end-of-archive blocks belongs to the stream the
	// caller may be digesting.
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return size, fmt.Errorf("archive: reading past end of tar: %w", err)
	}
	return size, nil
}

type dirTimes struct {
	rel          string
	atime, mtime time.Time
}

type extractor struct {
	ctx  context.Context
	root *safepath.Root
	opts ApplyOptions
	// seen holds the paths this layer created, which an opaque marker in
	// direct mode must keep.
	seen map[string]bool
	// opaque holds directories whose marker arrived; direct mode empties
	// them at the end, when every sibling entry of this layer is known.
	opaque []string
	dirs   []dirTimes

	// A one-entry cache of the last resolved parent directory: a layer
	// lists a directory's entries together.
	parentRel string
	parent    *os.File
}

func (x *extractor) run(tr *tar.Reader) (int64, error) {
	var size int64
	for {
		if err := x.ctx.Err(); err != nil {
			return size, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return size, errdefs.InvalidParameter(fmt.Errorf("archive: reading tar: %w", err))
		}
		n, err := x.entry(hdr, tr)
		size += n
		if err != nil {
			return size, err
		}
	}
	for _, d := range x.opaque {
		if err := x.emptyOpaque(d); err != nil {
			return size, err
		}
	}
	// Directory times last: creating children moved them.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		if err := x.withParent(d.rel, func(dir *os.File, base string) error {
			return setTimes(dir, base, d.atime, d.mtime)
		}); err != nil && !errors.Is(err, unix.ENOENT) {
			return size, err
		}
	}
	return size, nil
}

// checkName refuses names that climb out of the root. Absolute names are
// taken relative to it, as Docker and GNU tar do.
func checkName(kind, unsafeName string) (string, error) {
	if strings.ContainsRune(unsafeName, 0) {
		return "", errdefs.InvalidParameterf("archive: invalid %s %q: contains a NUL byte", kind, unsafeName)
	}
	c := path.Clean(strings.TrimLeft(unsafeName, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errdefs.InvalidParameterf("archive: invalid %s %q: path escapes the extraction root", kind, unsafeName)
	}
	return safepath.Clean(c), nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) (int64, error) {
	rel, err := checkName("tar entry", hdr.Name)
	if err != nil {
		return 0, err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader || rel == "." {
		return 0, nil
	}
	dirRel, base := path.Split(rel)
	dirRel = strings.TrimSuffix(dirRel, "/")
	if dirRel == "" {
		dirRel = "."
	}
	if base == opaqueMarker {
		return 0, x.opaqueDir(dirRel)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return 0, x.whiteout(dirRel, strings.TrimPrefix(base, whiteoutPrefix))
	}
	x.invalidate(rel)
	dir, err := x.parentDir(dirRel)
	if err != nil {
		return 0, classifyResolve(fmt.Errorf("archive: %s: %w", hdr.Name, err))
	}
	dfd := int(dir.Fd())

	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if !(hdr.Typeflag == tar.TypeDir && st.Mode&unix.S_IFMT == unix.S_IFDIR) {
			if err := safepath.RemoveAllAt(dfd, base); err != nil {
				return 0, fmt.Errorf("archive: replacing %s: %w", hdr.Name, err)
			}
		}
	}

	var size int64
	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(dfd, base, 0o700); err != nil && err != unix.EEXIST {
			return 0, pathErr("mkdir", hdr.Name, err)
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		n, err := x.writeFile(dfd, base, hdr, r)
		if err != nil {
			return n, err
		}
		size = n
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, dfd, base); err != nil {
			return 0, pathErr("symlink", hdr.Name, err)
		}
	case tar.TypeLink:
		x.seen[rel] = true
		return 0, x.hardlink(dfd, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		typ := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		if err := unix.Mknodat(dfd, base, typ|0o600, dev); err != nil {
			return 0, pathErr("mknod", hdr.Name, err)
		}
	default:
		return 0, errdefs.InvalidParameterf("archive: %s: unhandled tar header type %d", hdr.Name, hdr.Typeflag)
	}
	x.seen[rel] = true

	if !x.opts.NoChown && hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
		if err := unix.Fchownat(dfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return size, pathErr("lchown", hdr.Name, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
		// Regular files got their mode through their descriptor; symlinks
		// have none on Linux.
		if err := chmodNoFollow(dir, base, mode); err != nil {
			return size, pathErr("chmod", hdr.Name, err)
		}
	}
	if err := setXattrs(dir, base, hdr); err != nil {
		return size, pathErr("setxattr", hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, dirTimes{rel: rel, atime: accessTime(hdr), mtime: hdr.ModTime})
	} else if err := setTimes(dir, base, accessTime(hdr), hdr.ModTime); err != nil {
		return size, pathErr("utimes", hdr.Name, err)
	}
	return size, nil
}

func (x *extractor) writeFile(dfd int, base string, hdr *tar.Header, r io.Reader) (int64, error) {
	fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, pathErr("create", hdr.Name, err)
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	n, err := io.Copy(f, &ctxReader{ctx: x.ctx, r: r})
	if err != nil {
		return n, fmt.Errorf("archive: writing %s: %w", hdr.Name, err)
	}
	if !x.opts.NoChown {
		// Before chmod: chown clears set-id bits.
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
			return n, pathErr("chown", hdr.Name, err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return n, pathErr("chmod", hdr.Name, err)
	}
	return n, f.Close()
}

// hardlink links to a target named by the tar, resolved inside the root like
// any other name; the target's last component is not followed, so a link to
// a symlink links the symlink.
func (x *extractor) hardlink(dfd int, base string, hdr *tar.Header) error {
	target, err := checkName("hardlink target", hdr.Linkname)
	if err != nil {
		return err
	}
	if target == "." {
		return errdefs.InvalidParameterf("archive: invalid hardlink %q -> %q", hdr.Name, hdr.Linkname)
	}
	tdir, tbase, err := x.root.OpenParent(target)
	if err != nil {
		return classifyResolve(fmt.Errorf("archive: hardlink %s -> %s: %w", hdr.Name, hdr.Linkname, err))
	}
	defer tdir.Close()
	if err := unix.Linkat(int(tdir.Fd()), tbase, dfd, base, 0); err != nil {
		return classifyResolve(pathErr("link", hdr.Name, err))
	}
	return nil
}

func (x *extractor) whiteout(dirRel, name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return errdefs.InvalidParameterf("archive: invalid whiteout %q in %q", whiteoutPrefix+name, dirRel)
	}
	target := path.Join(dirRel, name)
	x.invalidate(target)
	if x.opts.Whiteouts == WhiteoutDirect {
		return x.root.RemoveAll(target)
	}
	dir, err := x.parentDir(dirRel)
	if err != nil {
		return fmt.Errorf("archive: whiteout %s: %w", target, err)
	}
	dfd := int(dir.Fd())
	if err := safepath.RemoveAllAt(dfd, name); err != nil {
		return err
	}
	if err := unix.Mknodat(dfd, name, unix.S_IFCHR, 0); err != nil {
		return pathErr("mknod whiteout", target, err)
	}
	x.seen[target] = true
	return nil
}

func (x *extractor) opaqueDir(dirRel string) error {
	if x.opts.Whiteouts == WhiteoutDirect {
		x.opaque = append(x.opaque, dirRel)
		return nil
	}
	d, err := x.root.MkdirAll(dirRel, 0o755)
	if err != nil {
		return fmt.Errorf("archive: opaque directory %s: %w", dirRel, err)
	}
	defer d.Close()
	if err := unix.Setxattr(safepath.ProcPath(d, ""), opaqueXattr, []byte("y"), 0); err != nil {
		return pathErr("setxattr opaque", dirRel, err)
	}
	return nil
}

// emptyOpaque removes what the lower layers put in dirRel, keeping what this
// layer wrote there.
func (x *extractor) emptyOpaque(dirRel string) error {
	x.dropParent()
	dir, base, err := x.root.OpenParent(dirRel)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer dir.Close()
	name := base
	if name == "" {
		name = "."
	}
	err = safepath.RemoveChildrenAt(int(dir.Fd()), name, func(child string) bool {
		return x.seen[path.Join(dirRel, child)]
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	return err
}

// parentDir resolves (creating as needed) the directory an entry goes in.
// Missing parents are created 0755 owned by the extracting user, as Docker
// does.
func (x *extractor) parentDir(dirRel string) (*os.File, error) {
	if x.parent != nil && x.parentRel == dirRel {
		return x.parent, nil
	}
	x.dropParent()
	d, err := x.root.MkdirAll(dirRel, 0o755)
	if err != nil {
		return nil, err
	}
	x.parent, x.parentRel = d, dirRel
	return d, nil
}

// invalidate forgets the cached parent when rel is it or one of its
// ancestors: the entry about to be written could replace it with a symlink.
func (x *extractor) invalidate(rel string) {
	if x.parent != nil && (x.parentRel == rel || strings.HasPrefix(x.parentRel, rel+"/")) {
		x.dropParent()
	}
}

func (x *extractor) dropParent() {
	if x.parent != nil {
		x.parent.Close()
		x.parent, x.parentRel = nil, ""
	}
}

func (x *extractor) withParent(rel string, fn func(*os.File, string) error) error {
	dir, base, err := x.root.OpenParent(rel)
	if err != nil {
		return err
	}
	defer dir.Close()
	return fn(dir, base)
}

// chmodNoFollow changes the mode of dir/base without following base: the
// entry is pinned with O_PATH|O_NOFOLLOW and changed through its /proc
// handle.
func chmodNoFollow(dir *os.File, base string, mode uint32) error {
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), mode)
}

func setXattrs(dir *os.File, base string, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok {
			continue
		}
		// Overlay's own attributes change how the stack is read (opaque,
		// redirect, metacopy); a layer may not plant them.
		if strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		err := unix.Lsetxattr(safepath.ProcPath(dir, base), name, []byte(v), 0)
		if err != nil && err != unix.ENOTSUP && err != unix.EPERM {
			return err
		}
	}
	return nil
}

func setTimes(dir *os.File, base string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	flags := unix.AT_SYMLINK_NOFOLLOW
	name := base
	if name == "" {
		name = "."
		flags = 0
	}
	return unix.UtimesNanoAt(int(dir.Fd()), name, ts, flags)
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

// classifyResolve marks failures to resolve a name the archive itself made
// unresolvable (a file or dangling link where a directory is needed, a
// symlink loop) as the archive's fault.
func classifyResolve(err error) error {
	for _, e := range []error{unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.EXDEV} {
		if errors.Is(err, e) {
			return errdefs.InvalidParameter(err)
		}
	}
	return err
}

func pathErr(op, name string, err error) error {
	return fmt.Errorf("archive: %w", &os.PathError{Op: op, Path: name, Err: err})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
