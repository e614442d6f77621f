package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/atomicfile"
	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/errdefs"
	"berth/internal/runtime"
	"berth/internal/safepath"
	"berth/internal/volume"
)

// mountsFile holds a container's resolved mount points beside its record:
// anonymous volume names are chosen at create and must survive restarts.
const mountsFile = "mounts.json"

// Volumes is the volume service: the /volumes routes, and the mounts
// containers get from -v, --mount, --tmpfs and the image's VOLUMEs.
type Volumes struct {
	store  *volume.Store
	events *events.Bus
	log    *slog.Logger

	mu     sync.Mutex
	mounts map[string][]mountPoint // by container ID
}

// mountPoint is one persisted container mount. A --mount tmpfs is listed
// for inspect only; tmpfs mounts are built from the HostConfig at start.
type mountPoint struct {
	Type        mount.Type
	Name        string `json:",omitempty"` // volume name
	Source      string // host path
	Destination string
	RW          bool
	Mode        string `json:",omitempty"`
	Propagation string `json:",omitempty"`
	NoCopy      bool   `json:",omitempty"`
	CreateHost  bool   `json:",omitempty"` // -v bind: create a missing host dir
	Anonymous   bool   `json:",omitempty"`

	Labels map[string]string `json:"-"` // for a volume --mount creates
}

func newVolumes(dataRoot string, bus *events.Bus, log *slog.Logger) (*Volumes, error) {
	st, err := volume.New(filepath.Join(dataRoot, "volumes"))
	if err != nil {
		return nil, err
	}
	return &Volumes{store: st, events: bus, log: log, mounts: map[string][]mountPoint{}}, nil
}

// restore re-reads every container's mounts and takes its references again.
func (v *Volumes) restore(store *container.Store) {
	for _, c := range store.List() {
		b, err := os.ReadFile(filepath.Join(store.Dir(c.ID), mountsFile))
		if err != nil {
			continue
		}
		var mps []mountPoint
		if err := json.Unmarshal(b, &mps); err != nil {
			v.log.Warn("unreadable container mounts", "container", c.ID, "err", err)
			continue
		}
		alive := c.State.IsRunning() || c.State.Status == container.StatusPaused
		for _, mp := range mps {
			if mp.Type != mount.TypeVolume {
				continue
			}
			if err := v.store.Acquire(mp.Name, c.ID); err != nil {
				v.log.Warn("container volume missing", "container", c.ID, "volume", mp.Name)
				continue
			}
			if alive {
				// Its exit, recorded later, unmounts a device volume.
				v.store.MarkActive(mp.Name, c.ID)
			}
		}
		v.mu.Lock()
		v.mounts[c.ID] = mps
		v.mu.Unlock()
	}
}

func (v *Volumes) publish(action apievents.Action, name string, extra map[string]string) {
	attrs := map[string]string{"driver": volume.DefaultDriver}
	for k, val := range extra {
		attrs[k] = val
	}
	v.events.Publish(apievents.VolumeEventType, action, name, attrs)
}

func apiVolume(vol volume.Volume) *apivolume.Volume {
	return &apivolume.Volume{
		Name: vol.Name, Driver: vol.Driver, Mountpoint: vol.Mountpoint, Labels: vol.Labels,
		Options: vol.Options, Scope: "local", CreatedAt: vol.CreatedAt.Format(time.RFC3339),
	}
}

// Create is POST /volumes/create.
func (v *Volumes) Create(ctx context.Context, req apivolume.CreateRequest) (*apivolume.Volume, error) {
	vol, created, err := v.store.Create(ctx, volume.CreateOptions{
		Name: req.Name, Driver: req.Driver, DriverOpts: req.DriverOpts, Labels: req.Labels,
	})
	if err != nil {
		return nil, err
	}
	if created {
		v.publish(apievents.ActionCreate, vol.Name, nil)
	}
	return apiVolume(vol), nil
}

// Inspect is GET /volumes/{name}.
func (v *Volumes) Inspect(ctx context.Context, name string) (*apivolume.Volume, error) {
	vol, err := v.store.Get(name)
	if err != nil {
		return nil, err
	}
	return apiVolume(vol), nil
}

var volumeListFilters = map[string]bool{"dangling": true, "name": true, "label": true, "driver": true}

// List is GET /volumes.
func (v *Volumes) List(ctx context.Context, f backend.Filters) (apivolume.ListResponse, error) {
	for k := range f {
		if !volumeListFilters[k] {
			return apivolume.ListResponse{}, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	dangling, err := boolFilter(f, "dangling")
	if err != nil {
		return apivolume.ListResponse{}, err
	}
	out := apivolume.ListResponse{Volumes: []apivolume.Volume{}, Warnings: []string{}}
	for _, vol := range v.store.List() {
		if dangling != nil && (len(v.store.Refs(vol.Name)) == 0) != *dangling {
			continue
		}
		if len(f["name"]) > 0 && !anyMatch(f["name"], func(s string) bool { return strings.Contains(vol.Name, s) }) {
			continue
		}
		if len(f["driver"]) > 0 && !f["driver"][vol.Driver] {
			continue
		}
		if !labelsMatch(vol.Labels, f["label"], true) {
			continue
		}
		out.Volumes = append(out.Volumes, *apiVolume(vol))
	}
	return out, nil
}

func boolFilter(f backend.Filters, key string) (*bool, error) {
	var out *bool
	for val := range f[key] {
		var b bool
		switch strings.ToLower(val) {
		case "true", "1":
			b = true
		case "false", "0":
		default:
			return nil, errdefs.InvalidParameterf("invalid filter '%s=%s'", key, val)
		}
		out = &b
	}
	return out, nil
}

// labelsMatch applies label filters ("k" or "k=v"); want=false is "label!".
func labelsMatch(labels map[string]string, filters map[string]bool, want bool) bool {
	for lf := range filters {
		k, val, hasVal := strings.Cut(lf, "=")
		got, ok := labels[k]
		match := ok && (!hasVal || got == val)
		if match != want {
			return false
		}
	}
	return true
}

// Remove is DELETE /volumes/{name}.
func (v *Volumes) Remove(ctx context.Context, name string, force bool) error {
	if _, err := v.store.Get(name); err != nil {
		if force && errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err := v.store.Remove(ctx, name, force); err != nil {
		return err
	}
	v.publish(apievents.ActionDestroy, name, nil)
	return nil
}

// Prune is POST /volumes/prune: unused anonymous volumes, or all unused
// ones with the "all" filter (API ≥ 1.42 behaviour).
func (v *Volumes) Prune(ctx context.Context, f backend.Filters) (apivolume.PruneReport, error) {
	for k := range f {
		if k != "label" && k != "label!" && k != "all" {
			return apivolume.PruneReport{}, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	all, err := boolFilter(f, "all")
	if err != nil {
		return apivolume.PruneReport{}, err
	}
	rep := apivolume.PruneReport{VolumesDeleted: []string{}}
	for _, vol := range v.store.List() {
		if len(v.store.Refs(vol.Name)) > 0 || ((all == nil || !*all) && !vol.Anonymous()) {
			continue
		}
		if !labelsMatch(vol.Labels, f["label"], true) || !labelsMatch(vol.Labels, f["label!"], false) {
			continue
		}
		size := v.store.Size(vol.Name)
		if err := v.store.Remove(ctx, vol.Name, false); err != nil {
			if errdefs.IsConflict(err) || errdefs.IsNotFound(err) {
				continue
			}
			return rep, err
		}
		v.publish(apievents.ActionDestroy, vol.Name, nil)
		rep.VolumesDeleted = append(rep.VolumesDeleted, vol.Name)
		rep.SpaceReclaimed += uint64(size)
	}
	v.events.Publish(apievents.VolumeEventType, apievents.ActionPrune, "", map[string]string{"reclaimed": fmt.Sprint(rep.SpaceReclaimed)})
	return rep, nil
}

// prepare resolves a new container's mounts, creating the volumes they
// name and taking container id's references on them. On error nothing is
// left behind.
func (v *Volumes) prepare(ctx context.Context, id string, cfg *apicontainer.Config, hc *apicontainer.HostConfig, from []mountPoint) (mps []mountPoint, err error) {
	specs, err := parseMounts(cfg, hc)
	if err != nil {
		return nil, err
	}
	specs = mergeVolumesFrom(specs, from)
	defer func() {
		if err != nil {
			v.drop(ctx, id, mps, true)
			mps = nil
		}
	}()
	for _, mp := range specs {
		if mp.Type == mount.TypeVolume {
			vol, created, cerr := v.store.Create(ctx, volume.CreateOptions{Name: mp.Name, Anonymous: mp.Anonymous, Labels: mp.Labels})
			if cerr != nil {
				return mps, cerr
			}
			mp.Name, mp.Source = vol.Name, vol.Mountpoint
			if created {
				v.publish(apievents.ActionCreate, vol.Name, nil)
			}
			if aerr := v.store.Acquire(vol.Name, id); aerr != nil {
				return mps, aerr
			}
		}
		mps = append(mps, mp)
	}
	return mps, nil
}

// save persists a created container's mounts in its directory.
func (v *Volumes) save(dir, id string, mps []mountPoint) error {
	if mps == nil {
		mps = []mountPoint{}
	}
	b, err := json.Marshal(mps)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, mountsFile), b, 0o600); err != nil {
		return errdefs.System(err)
	}
	v.mu.Lock()
	v.mounts[id] = mps
	v.mu.Unlock()
	return nil
}

// release drops a removed container's references and, with removeAnon
// (rm -v, --rm), deletes its anonymous volumes nobody else uses.
func (v *Volumes) release(ctx context.Context, id string, removeAnon bool) {
	v.mu.Lock()
	mps := v.mounts[id]
	delete(v.mounts, id)
	v.mu.Unlock()
	v.drop(ctx, id, mps, removeAnon)
}

func (v *Volumes) drop(ctx context.Context, id string, mps []mountPoint, removeAnon bool) {
	for _, mp := range mps {
		if mp.Type != mount.TypeVolume {
			continue
		}
		v.store.Release(mp.Name, id)
		if !removeAnon || !mp.Anonymous {
			continue
		}
		if err := v.store.Remove(ctx, mp.Name, false); err == nil {
			v.publish(apievents.ActionDestroy, mp.Name, nil)
		} else if !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
			v.log.Warn("removing anonymous volume", "volume", mp.Name, "err", err)
		}
	}
}

// mountPoints are a container's mounts as inspect and ps show them.
func (v *Volumes) mountPoints(id string) []apicontainer.MountPoint {
	v.mu.Lock()
	mps := v.mounts[id]
	v.mu.Unlock()
	out := make([]apicontainer.MountPoint, 0, len(mps))
	for _, mp := range mps {
		m := apicontainer.MountPoint{
			Type: mp.Type, Name: mp.Name, Source: mp.Source, Destination: mp.Destination,
			Mode: mp.Mode, RW: mp.RW, Propagation: mount.Propagation(mp.Propagation),
		}
		if mp.Type == mount.TypeVolume {
			m.Driver = volume.DefaultDriver
		}
		out = append(out, m)
	}
	return out
}

// runtimeMounts prepares a starting container's mounts: copy-up into empty
// volumes from the image content at rootfs, missing -v host directories,
// tmpfs options.
func (v *Volumes) runtimeMounts(ctx context.Context, snap *container.Snapshot, rootfs string) ([]runtime.Mount, error) {
	v.mu.Lock()
	mps := v.mounts[snap.ID]
	v.mu.Unlock()
	var out []runtime.Mount
	for _, mp := range mps {
		switch mp.Type {
		case mount.TypeTmpfs:
			continue // built from HostConfig.Mounts below, with its options
		case mount.TypeVolume:
			// On error the caller's cleanup (unmounted) releases what
			// was mounted so far.
			src, err := v.store.Mount(mp.Name, snap.ID)
			if err != nil {
				return nil, err
			}
			mp.Source = src
			if !mp.NoCopy {
				if err := v.copyUp(ctx, mp, rootfs); err != nil {
					return nil, err
				}
			}
		case mount.TypeBind:
			if _, err := os.Stat(mp.Source); errors.Is(err, fs.ErrNotExist) {
				if !mp.CreateHost {
					return nil, errdefs.InvalidParameterf("invalid mount config for type \"bind\": bind source path does not exist: %s", mp.Source)
				}
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					return nil, errdefs.System(fmt.Errorf("error while creating mount source path '%s': %w", mp.Source, err))
				}
			}
		}
		prop := mp.Propagation
		if prop == "" {
			prop = "rprivate"
		}
		opts := []string{"rbind", prop}
		if !mp.RW {
			opts = append(opts, "ro")
		}
		out = append(out, runtime.Mount{Source: mp.Source, Destination: mp.Destination, Type: "bind", Options: opts})
		attrs := map[string]string{"container": snap.ID, "destination": mp.Destination, "read/write": fmt.Sprint(mp.RW), "propagation": mp.Propagation}
		if mp.Type == mount.TypeVolume {
			v.publish(apievents.ActionMount, mp.Name, attrs)
		}
	}
	for dst, opt := range snap.HostConfig.Tmpfs {
		out = append(out, runtime.Mount{Source: "tmpfs", Destination: dst, Type: "tmpfs", Options: tmpfsOptions(opt)})
	}
	for _, m := range snap.HostConfig.Mounts {
		if m.Type == mount.TypeTmpfs {
			out = append(out, runtime.Mount{Source: "tmpfs", Destination: m.Target, Type: "tmpfs", Options: mountTmpfsOptions(m)})
		}
	}
	return out, nil
}

// sortMounts orders mounts by destination depth, stably, so a volume on
// /etc goes under the /etc/hosts bind rather than hiding it.
func sortMounts(ms []runtime.Mount) []runtime.Mount {
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(path.Clean(ms[i].Destination), "/") < strings.Count(path.Clean(ms[j].Destination), "/")
	})
	return ms
}

// unmounted releases the volumes of a container that stopped (or failed
// to start): the last user of a device volume unmounts it.
func (v *Volumes) unmounted(id string) {
	v.mu.Lock()
	mps := v.mounts[id]
	v.mu.Unlock()
	for _, mp := range mps {
		if mp.Type != mount.TypeVolume {
			continue
		}
		if err := v.store.Unmount(mp.Name, id); err != nil {
			v.log.Warn("unmounting volume", "volume", mp.Name, "container", id, "err", err)
		}
		v.publish(apievents.ActionUnmount, mp.Name, map[string]string{"container": id})
	}
}

// copyUp fills an empty volume from the image's directory at its
// destination, resolved inside rootfs by safepath.
func (v *Volumes) copyUp(ctx context.Context, mp mountPoint, rootfs string) error {
	root, err := safepath.OpenRoot(rootfs)
	if err != nil {
		return errdefs.System(err)
	}
	defer root.Close()
	src, err := root.Open(mp.Destination)
	if err != nil {
		// Nothing in the image at that path: nothing to copy.
		return nil
	}
	defer src.Close()
	if fi, err := src.Stat(); err != nil || !fi.IsDir() {
		return nil
	}
	return v.store.CopyUp(ctx, mp.Name, src)
}

func tmpfsOptions(opt string) []string {
	out := []string{"nosuid", "nodev", "noexec"}
	for _, o := range strings.Split(opt, ",") {
		switch o = strings.TrimSpace(o); o {
		case "":
		case "exec", "suid", "dev":
			out = without1(out, "no"+o)
		default:
			out = append(out, o)
		}
	}
	return out
}

func mountTmpfsOptions(m mount.Mount) []string {
	out := []string{"nosuid", "nodev", "noexec"}
	if m.TmpfsOptions != nil {
		if m.TmpfsOptions.SizeBytes > 0 {
			out = append(out, fmt.Sprintf("size=%dk", (m.TmpfsOptions.SizeBytes+1023)/1024))
		}
		if m.TmpfsOptions.Mode != 0 {
			out = append(out, fmt.Sprintf("mode=%o", m.TmpfsOptions.Mode.Perm()))
		}
	}
	if m.ReadOnly {
		out = append(out, "ro")
	}
	return out
}

func without1(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
