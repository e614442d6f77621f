package safepath

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveFlags confine every lookup to the root and refuse /proc magic links,
// which could otherwise jump to any open file of any process.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// Root is an open directory that untrusted paths are resolved inside.
// A Root is safe for concurrent use; Close it when done.
type Root struct {
	path string
	f    *os.File
}

// OpenRoot opens the trusted directory path as a root.
func OpenRoot(path string) (*Root, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: path, Err: err}
	}
	return &Root{path: filepath.Clean(path), f: os.NewFile(uintptr(fd), path)}, nil
}

// Close releases the root's descriptor.
func (r *Root) Close() error { return r.f.Close() }

// Path is the trusted host path the root was opened at.
func (r *Root) Path() string { return r.path }

// FD is the root's O_PATH descriptor, valid until Close.
func (r *Root) FD() int { return int(r.f.Fd()) }

// Clean turns an untrusted path into a clean path relative to a root: ".."
// is clamped at the root lexically and a leading "/" is dropped. The result
// is "." for the root itself. Symlinks are not looked at; Clean alone is
// never enough to make a host path safe.
func Clean(unsafePath string) string {
	p := filepath.Clean("/" + unsafePath)
	if p == "/" {
		return "."
	}
	return p[1:]
}

// openat2 retries on EAGAIN/EINTR, which RESOLVE_IN_ROOT returns when a
// rename elsewhere raced with the lookup.
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dirfd, path, how)
		if (err == unix.EAGAIN || err == unix.EINTR) && i < 64 {
			continue
		}
		return fd, err
	}
}

// OpenFile opens unsafePath inside the root. Every symlink on the way,
// including the last component unless flags has O_NOFOLLOW, is resolved
// inside the root. O_CREAT creates the final component in its resolved
// parent.
func (r *Root) OpenFile(unsafePath string, flags int, perm os.FileMode) (*os.File, error) {
	p := Clean(unsafePath)
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(syscallMode(perm)),
		Resolve: resolveFlags,
	}
	if flags&unix.O_CREAT == 0 {
		how.Mode = 0
	}
	fd, err := openat2(r.FD(), p, how)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(r.path, p), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(r.path, p)), nil
}

// Open opens unsafePath read-only inside the root.
func (r *Root) Open(unsafePath string) (*os.File, error) {
	return r.OpenFile(unsafePath, unix.O_RDONLY, 0)
}

// OpenParent resolves all but the last component of unsafePath inside the
// root and returns that directory (an O_PATH descriptor usable with the *at
// syscalls) together with the last component, which is a plain name, never
// "." or "..", and has not been looked up. For the root itself it returns the
// root directory and "".
func (r *Root) OpenParent(unsafePath string) (*os.File, string, error) {
	p := Clean(unsafePath)
	if p == "." {
		f, err := r.OpenFile(".", unix.O_PATH|unix.O_DIRECTORY, 0)
		return f, "", err
	}
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	f, err := r.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, "", err
	}
	return f, base, nil
}

// Lstat reports on unsafePath without following its last component.
func (r *Root) Lstat(unsafePath string) (*unix.Stat_t, error) {
	dir, base, err := r.OpenParent(unsafePath)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	var st unix.Stat_t
	name := base
	flags := unix.AT_SYMLINK_NOFOLLOW
	if base == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(int(dir.Fd()), name, &st, flags); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: filepath.Join(r.path, Clean(unsafePath)), Err: err}
	}
	return &st, nil
}

// MkdirAll creates unsafePath and any missing parents inside the root (like
// os.MkdirAll, with symlinks resolved in the root) and returns the directory
// opened O_PATH.
func (r *Root) MkdirAll(unsafePath string, perm os.FileMode) (*os.File, error) {
	p := Clean(unsafePath)
	const dirFlags = unix.O_PATH | unix.O_DIRECTORY
	if f, err := r.OpenFile(p, dirFlags, 0); err == nil {
		return f, nil
	} else if !errors.Is(err, unix.ENOENT) {
		return nil, err
	}
	cur, err := r.OpenFile(".", dirFlags, 0)
	if err != nil {
		return nil, err
	}
	prefix := ""
	for _, comp := range strings.Split(p, "/") {
		prefix = pathJoin(prefix, comp)
		next, err := r.OpenFile(prefix, dirFlags, 0)
		if errors.Is(err, unix.ENOENT) {
			// cur is the resolved parent of prefix; create the entry there
			// (never following it) and look it up again through the root.
			if err := unix.Mkdirat(int(cur.Fd()), comp, syscallMode(perm)); err != nil && err != unix.EEXIST {
				cur.Close()
				return nil, &os.PathError{Op: "mkdir", Path: filepath.Join(r.path, prefix), Err: err}
			}
			next, err = r.OpenFile(prefix, dirFlags, 0)
		}
		cur.Close()
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// RemoveAll removes unsafePath and, for a directory, everything below it.
// The last component is not followed: removing a symlink removes the link.
// A missing path is not an error.
func (r *Root) RemoveAll(unsafePath string) error {
	dir, base, err := r.OpenParent(unsafePath)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer dir.Close()
	if base == "" {
		return fmt.Errorf("safepath: refusing to remove the root %s", r.path)
	}
	return RemoveAllAt(int(dir.Fd()), base)
}

// RemoveAllAt removes name in the directory dirfd recursively without ever
// following a symlink.
func RemoveAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &os.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	if err := removeChildren(dirfd, name); err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// RemoveChildrenAt empties the directory name in dirfd, keeping the names
// for which keep returns true.
func RemoveChildrenAt(dirfd int, name string, keep func(child string) bool) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, n := range names {
			if keep != nil && keep(n) {
				continue
			}
			if err := RemoveAllAt(fd, n); err != nil {
				return err
			}
		}
		if err == io.EOF || len(names) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func removeChildren(dirfd int, name string) error {
	err := RemoveChildrenAt(dirfd, name, nil)
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err == unix.ENOTDIR {
		// It was not a directory after all (EPERM from unlink on a file with
		// an immutable flag, for instance): report the original problem.
		return &os.PathError{Op: "unlinkat", Path: name, Err: unix.EPERM}
	}
	return err
}

// Resolve returns the host path unsafePath resolves to inside the root. A
// missing last component is allowed (its parent must exist). The answer is
// only as good as the moment it was computed: prefer the handle methods when
// the tree can change under you.
func (r *Root) Resolve(unsafePath string) (string, error) {
	f, err := r.OpenFile(unsafePath, unix.O_PATH, 0)
	if err == nil {
		defer f.Close()
		return fdPath(f)
	}
	if !errors.Is(err, unix.ENOENT) {
		return "", err
	}
	dir, base, err := r.OpenParent(unsafePath)
	if err != nil {
		return "", err
	}
	defer dir.Close()
	// The last component may be a dangling symlink: following it must stay
	// in the root, so resolve only the directory and keep the name as is.
	dp, err := fdPath(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(dp, base), nil
}

// Join resolves unsafePath inside root and returns the host path, as
// Root.Resolve.
func Join(root, unsafePath string) (string, error) {
	r, err := OpenRoot(root)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.Resolve(unsafePath)
}

func fdPath(f *os.File) (string, error) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(p, " (deleted)") {
		return "", &os.PathError{Op: "resolve", Path: p, Err: unix.ENOENT}
	}
	return p, nil
}

// ProcPath is a path through /proc/self/fd that names the entry name inside
// the directory f without following name itself. It lets path-only syscalls
// (lsetxattr, chmod of an O_PATH handle) act relative to a resolved handle.
func ProcPath(f *os.File, name string) string {
	p := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if name != "" {
		p += "/" + name
	}
	return p
}

func pathJoin(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

func syscallMode(m os.FileMode) uint32 {
	o := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		o |= unix.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		o |= unix.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		o |= unix.S_ISVTX
	}
	return o
}
