package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/containerfs"
	"berth/internal/errdefs"
	"berth/internal/runtime"
	"berth/internal/safepath"
)

// openView returns the container's filesystem as its processes see it,
// mounts included: through its init's root while it runs, assembled in a
// private mount namespace otherwise.
func (s *Containers) openView(ctx context.Context, snap *container.Snapshot) (*containerfs.View, error) {
	if snap.State.IsRunning() && snap.State.Pid > 0 {
		v, err := containerfs.OpenPID(snap.State.Pid)
		if err == nil {
			// The pid must still be this container's init.
			if cur, lerr := s.store.Lookup(snap.ID); lerr == nil && cur.State.IsRunning() && cur.State.Pid == snap.State.Pid {
				return v, nil
			}
			v.Close()
		}
		// It exited meanwhile: fall through to a stopped view.
	}
	return s.assembleView(ctx, snap, true)
}

// assembleView mounts the container's root (and, withMounts, its volumes,
// binds and /etc files) in a private namespace.
func (s *Containers) assembleView(ctx context.Context, snap *container.Snapshot, withMounts bool) (*containerfs.View, error) {
	specs, err := s.images.RWMounts(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	var binds []containerfs.Bind
	if withMounts {
		binds = []containerfs.Bind{
			{Source: snap.HostnamePath, Destination: "/etc/hostname"},
			{Source: snap.HostsPath, Destination: "/etc/hosts"},
			{Source: snap.ResolvConfPath, Destination: "/etc/resolv.conf"},
		}
		s.volumes.mu.Lock()
		mps := s.volumes.mounts[snap.ID]
		s.volumes.mu.Unlock()
		for _, mp := range sortedMountPoints(mps) {
			if mp.Type == mount.TypeVolume || mp.Type == mount.TypeBind {
				binds = append(binds, containerfs.Bind{Source: mp.Source, Destination: mp.Destination, ReadOnly: !mp.RW})
			}
		}
	}
	target, err := os.MkdirTemp(s.cfg.ExecRoot, "view-")
	if err != nil {
		return nil, errdefs.System(err)
	}
	return containerfs.Assemble(target, specs, binds)
}

// sortedMountPoints orders mounts parents first, as the runtime mounts them.
func sortedMountPoints(mps []mountPoint) []mountPoint {
	out := append([]mountPoint(nil), mps...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && depth(out[j].Destination) < depth(out[j-1].Destination); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func depth(p string) int {
	n := 0
	for _, c := range path.Clean(p) {
		if c == '/' {
			n++
		}
	}
	return n
}

// fileNotFound words a missing path as Docker does.
func fileNotFound(err error, unsafePath, ref string) error {
	if errors.Is(err, containerfs.ErrNotFound) {
		return errdefs.NotFoundf("Could not find the file %s in container %s", unsafePath, ref)
	}
	return err
}

// StatPath is HEAD /containers/{id}/archive.
func (s *Containers) StatPath(ctx context.Context, ref, unsafePath string) (apicontainer.PathStat, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return apicontainer.PathStat{}, err
	}
	v, err := s.openView(ctx, snap)
	if err != nil {
		return apicontainer.PathStat{}, err
	}
	defer v.Close()
	st, err := containerfs.Stat(v.Root(), unsafePath)
	return st, fileNotFound(err, unsafePath, ref)
}

// ArchivePath is GET /containers/{id}/archive: a tar of the path and its
// stat. The view stays open until the stream is closed.
func (s *Containers) ArchivePath(ctx context.Context, ref, unsafePath string) (io.ReadCloser, apicontainer.PathStat, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, apicontainer.PathStat{}, err
	}
	v, err := s.openView(ctx, snap)
	if err != nil {
		return nil, apicontainer.PathStat{}, err
	}
	rc, st, err := containerfs.Archive(ctx, v.Root(), unsafePath)
	if err != nil {
		v.Close()
		return nil, st, fileNotFound(err, unsafePath, ref)
	}
	s.publish(snap, apievents.ActionArchivePath, map[string]string{"path": unsafePath})
	return &viewReader{ReadCloser: rc, view: v}, st, nil
}

// ExtractToDir is PUT /containers/{id}/archive: the tar r is unpacked in
// the directory unsafePath. As in Docker, a read-only volume refuses it, and
// so does a read-only root filesystem outside the container's volumes.
func (s *Containers) ExtractToDir(ctx context.Context, ref, unsafePath string, opts backend.ExtractOptions, r io.Reader) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	inMount, rw := s.mountAt(snap.ID, unsafePath)
	switch {
	case inMount && !rw:
		return errdefs.Forbidden(fmt.Errorf("mounted volume is marked read-only"))
	case !inMount && snap.HostConfig.ReadonlyRootfs:
		return errdefs.Forbidden(fmt.Errorf("container rootfs is marked read-only"))
	}
	v, err := s.openView(ctx, snap)
	if err != nil {
		return err
	}
	defer v.Close()
	xo := containerfs.ExtractOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir}
	if opts.CopyUIDGID && snap.Config.User != "" {
		// As Docker: -a into a container with a user makes that user
		// the owner of what is copied.
		u, err := runtime.ResolveUser("/proc/self/fd/"+strconv.Itoa(v.Root().FD()), snap.Config.User)
		if err != nil {
			return err
		}
		xo.Owner = &containerfs.Owner{UID: int(u.UID), GID: int(u.GID)}
	}
	if err := containerfs.Extract(ctx, v.Root(), unsafePath, r, xo); err != nil {
		return fileNotFound(err, unsafePath, ref)
	}
	s.publish(snap, apievents.ActionExtractToDir, map[string]string{"path": unsafePath})
	return nil
}

// mountAt reports whether the container path lies in one of the
// container's volumes or binds (lexically, as Docker checks; the deepest
// mount decides) and whether that mount is writable.
func (s *Containers) mountAt(id, unsafePath string) (inMount, rw bool) {
	p := path.Clean("/" + unsafePath)
	s.volumes.mu.Lock()
	defer s.volumes.mu.Unlock()
	best := -1
	for _, mp := range s.volumes.mounts[id] {
		d := path.Clean(mp.Destination)
		if (p == d || strings.HasPrefix(p, d+"/")) && len(d) > best {
			best, inMount, rw = len(d), true, mp.RW
		}
	}
	return inMount, rw
}

// Export is GET /containers/{id}/export: the container's root filesystem
// flattened, without its volumes and binds.
func (s *Containers) Export(ctx context.Context, ref string) (io.ReadCloser, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, err
	}
	var v *containerfs.View
	var root *safepath.Root
	if snap.State.IsRunning() {
		// Its root is mounted in the host namespace already, without the
		// container's own mounts on top.
		p, err := s.images.Mount(ctx, snap.ID)
		if err != nil {
			return nil, err
		}
		if root, err = safepath.OpenRoot(p); err != nil {
			return nil, errdefs.System(err)
		}
	} else {
		if v, err = s.assembleView(ctx, snap, false); err != nil {
			return nil, err
		}
		root = v.Root()
	}
	rc := containerfs.Export(ctx, root)
	s.publish(snap, apievents.ActionExport, nil)
	return &viewReader{ReadCloser: rc, view: v, root: root}, nil
}

// Changes is GET /containers/{id}/changes.
func (s *Containers) Changes(ctx context.Context, ref string) ([]apicontainer.FilesystemChange, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, err
	}
	specs, err := s.images.BaseMounts(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	var lower *safepath.Root
	if specs != nil {
		target, err := os.MkdirTemp(s.cfg.ExecRoot, "view-")
		if err != nil {
			return nil, errdefs.System(err)
		}
		v, err := containerfs.Assemble(target, specs, nil)
		if err != nil {
			return nil, err
		}
		defer v.Close()
		lower = v.Root()
	}
	diff, err := s.images.RWDiff(ctx, snap.ID)
	if err != nil {
		return nil, err
	}
	defer diff.Close()
	var mounts []string
	s.volumes.mu.Lock()
	for _, mp := range s.volumes.mounts[snap.ID] {
		mounts = append(mounts, mp.Destination)
	}
	s.volumes.mu.Unlock()
	for dst := range snap.HostConfig.Tmpfs {
		mounts = append(mounts, dst)
	}
	return containerfs.Changes(diff, lower, mounts)
}

// viewReader closes the view (or root) a stream reads from with the stream.
type viewReader struct {
	io.ReadCloser
	view *containerfs.View
	root *safepath.Root // closed when there is no view owning it
}

func (r *viewReader) Close() error {
	err := r.ReadCloser.Close()
	if r.view != nil {
		r.view.Close()
	} else if r.root != nil {
		r.root.Close()
	}
	return err
}
