package containerfs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"berth/internal/errdefs"
	"berth/internal/safepath"
	"berth/internal/storage"

	"golang.org/x/sys/unix"
)

// View is a container's root filesystem opened for reading and writing by
// path. Close it when done: an assembled view keeps a thread (and with it a
// private mount namespace) alive until then.
type View struct {
	root *safepath.Root
	stop chan struct{} // closed by Close; the namespace thread exits
	done chan struct{} // closed when that thread is gone
	dir  string        // mount target to remove after the thread exits
}

// Root is the view's root directory; paths resolved in it stay inside.
func (v *View) Root() *safepath.Root { return v.root }

// Close releases the view.
func (v *View) Close() error {
	err := v.root.Close()
	if v.stop != nil {
		close(v.stop)
		<-v.done
	}
	if v.dir != "" {
		os.Remove(v.dir)
	}
	return err
}

// OpenPID views the root of the running process pid (a container's init)
// through /proc/<pid>/root. The caller checks afterwards that pid still is
// the container's: a pid reused after an exit would show another root.
func OpenPID(pid int) (*View, error) {
	if pid <= 0 {
		return nil, errdefs.Conflictf("container is not running")
	}
	r, err := safepath.OpenRoot("/proc/" + strconv.Itoa(pid) + "/root")
	if err != nil {
		return nil, errdefs.System(fmt.Errorf("containerfs: opening the root of pid %d: %w", pid, err))
	}
	return &View{root: r}, nil
}

// Bind is one mount of a stopped container's view: a trusted host path
// mounted at an (untrusted) destination inside the root.
type Bind struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Assemble mounts rootfs (the layer mounts of the container's root) on the
// empty directory target and binds on top, all in a private mount
// namespace owned by one locked thread, and returns the view. target is
// removed by Close.
func Assemble(target string, rootfs []storage.MountSpec, binds []Bind) (*View, error) {
	type result struct {
		root *safepath.Root
		err  error
	}
	res := make(chan result, 1)
	v := &View{stop: make(chan struct{}), done: make(chan struct{}), dir: target}
	go func() {
		defer close(v.done)
		// Never unlocked: the thread, and the namespace only it is in,
		// end with this goroutine.
		runtime.LockOSThread()
		r, err := assemble(target, rootfs, binds)
		res <- result{r, err}
		if err != nil {
			return
		}
		<-v.stop
	}()
	out := <-res
	if out.err != nil {
		<-v.done
		os.Remove(target)
		return nil, out.err
	}
	v.root = out.root
	return v, nil
}

// assemble runs on the locked thread.
func assemble(target string, rootfs []storage.MountSpec, binds []Bind) (*safepath.Root, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, errdefs.System(fmt.Errorf("containerfs: unshare mount namespace: %w", err))
	}
	// Nothing done here may reach the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, errdefs.System(fmt.Errorf("containerfs: making mounts private: %w", err))
	}
	if err := storage.Mount(rootfs, target); err != nil {
		return nil, err
	}
	root, err := safepath.OpenRoot(target)
	if err != nil {
		return nil, errdefs.System(err)
	}
	for _, b := range binds {
		if err := bindInto(root, b); err != nil {
			root.Close()
			return nil, err
		}
	}
	return root, nil
}

// bindInto mounts b.Source on its destination resolved inside root,
// creating the mount point as the runtime would.
func bindInto(root *safepath.Root, b Bind) error {
	fi, err := os.Stat(b.Source)
	if err != nil {
		// A bind source gone since create: the copy sees the
		// container's own directory, as a start would fail anyway.
		return nil
	}
	var dst *os.File
	if fi.IsDir() {
		dst, err = root.MkdirAll(b.Destination, 0o755)
	} else {
		dst, err = mountFile(root, b.Destination)
	}
	if err != nil {
		return errdefs.System(fmt.Errorf("containerfs: mount point %s: %w", b.Destination, err))
	}
	defer dst.Close()
	p := safepath.ProcPath(dst, "")
	if err := unix.Mount(b.Source, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return errdefs.System(fmt.Errorf("containerfs: bind %s on %s: %w", b.Source, b.Destination, err))
	}
	if !b.ReadOnly {
		return nil
	}
	// Look the destination up again so the handle is the new mount's
	// root rather than the directory under it.
	top, err := root.OpenFile(b.Destination, unix.O_PATH, 0)
	if err != nil {
		return errdefs.System(err)
	}
	defer top.Close()
	if err := unix.Mount("", safepath.ProcPath(top, ""), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return errdefs.System(fmt.Errorf("containerfs: read-only %s: %w", b.Destination, err))
	}
	return nil
}

// mountFile opens (creating) a file mount point inside root.
func mountFile(root *safepath.Root, unsafeDst string) (*os.File, error) {
	dir, base, err := root.OpenParent(unsafeDst)
	if errors.Is(err, unix.ENOENT) {
		parent, _ := splitParent(unsafeDst)
		var d *os.File
		if d, err = root.MkdirAll(parent, 0o755); err == nil {
			d.Close()
			dir, base, err = root.OpenParent(unsafeDst)
		}
	}
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	if base == "" {
		return nil, unix.EISDIR
	}
	fd, err := unix.Openat(int(dir.Fd()), base, unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), base), nil
}

func splitParent(p string) (string, string) {
	c := safepath.Clean(p)
	for i := len(c) - 1; i >= 0; i-- {
		if c[i] == '/' {
			return c[:i], c[i+1:]
		}
	}
	return ".", c
}
