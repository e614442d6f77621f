package volume

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// Driver options of the local driver, as Docker's: type, device and o are
// handed to mount(2) on the volume's _data when its first user starts.
var (
	validOpts     = map[string]bool{"type": true, "device": true, "o": true, "size": true}
	mandatoryOpts = map[string][]string{"device": {"type"}, "type": {"device"}, "o": {"device", "type"}}
)

func validateOpts(name string, opts map[string]string) error {
	for k := range opts {
		if !validOpts[k] {
			return errdefs.InvalidParameterf("create %s: invalid option: %q", name, k)
		}
	}
	if _, ok := opts["size"]; ok {
		return errdefs.InvalidParameterf("create %s: quota size requested but no quota support", name)
	}
	for _, k := range []string{"device", "type", "o"} {
		if _, ok := opts[k]; !ok {
			continue
		}
		for _, req := range mandatoryOpts[k] {
			if _, ok := opts[req]; !ok {
				return errdefs.InvalidParameterf("create %s: missing required option: %q", name, req)
			}
		}
	}
	return nil
}

func needsMount(v *Volume) bool { return v.Options["type"] != "" || v.Options["device"] != "" }

// mountFlags splits an "o" option into mount(2) flags and filesystem data.
func mountFlags(o string) (uintptr, string) {
	flags := map[string]uintptr{
		"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
		"sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC, "noatime": unix.MS_NOATIME,
		"nodiratime": unix.MS_NODIRATIME, "relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME,
		"bind": unix.MS_BIND, "rbind": unix.MS_BIND | unix.MS_REC,
	}
	var f uintptr
	var data []string
	for _, opt := range strings.Split(o, ",") {
		switch {
		case opt == "" || opt == "rw" || opt == "defaults":
		case flags[opt] != 0:
			f |= flags[opt]
		default:
			data = append(data, opt)
		}
	}
	return f, strings.Join(data, ",")
}

// Mount readies the volume for container id and returns the host path to
// bind into it. A volume with device options is mounted on its _data by its
// first user and stays mounted until the last one calls Unmount.
func (s *Store) Mount(name, id string) (string, error) {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	v, err := s.Get(name)
	if err != nil {
		return "", err
	}
	if !needsMount(&v) {
		return v.Mountpoint, nil
	}
	s.mu.Lock()
	users := len(s.active[name])
	s.mu.Unlock()
	if users == 0 {
		mounted, _ := mountinfo.Mounted(v.Mountpoint)
		if !mounted {
			flags, data := mountFlags(v.Options["o"])
			if err := unix.Mount(v.Options["device"], v.Mountpoint, v.Options["type"], flags, data); err != nil {
				return "", errdefs.System(fmt.Errorf("error while mounting volume '%s': failed to mount local volume: mount %s:%s, flags: %#x, data: %s: %w",
					v.Mountpoint, v.Options["device"], v.Mountpoint, flags, data, err))
			}
		}
	}
	s.markActive(name, id)
	return v.Mountpoint, nil
}

// MarkActive records that a container restored alive uses the volume, so
// its exit unmounts a device volume.
func (s *Store) MarkActive(name, id string) {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	s.markActive(name, id)
}

func (s *Store) markActive(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[name] == nil {
		s.active[name] = map[string]bool{}
	}
	s.active[name][id] = true
}

// Unmount drops container id's use of the volume; the last user of a device
// volume unmounts it.
func (s *Store) Unmount(name, id string) error {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	s.mu.Lock()
	had := s.active[name][id]
	delete(s.active[name], id)
	left := len(s.active[name])
	if left == 0 {
		delete(s.active, name)
	}
	v, ok := s.vols[name]
	s.mu.Unlock()
	if !had || left > 0 || !ok || !needsMount(v) {
		return nil
	}
	return unmountData(v.Mountpoint)
}

// unmountData unmounts a device volume's _data, refusing to report success
// while anything is still mounted there: removal must never recurse into a
// mounted device.
func unmountData(path string) error {
	for range 8 {
		mounted, err := mountinfo.Mounted(path)
		if err != nil {
			return errdefs.System(err)
		}
		if !mounted {
			return nil
		}
		if err := unix.Unmount(path, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				return errdefs.System(fmt.Errorf("unmounting volume %s: %w", path, err))
			}
		}
	}
	return errdefs.Systemf("volume %s is still mounted", path)
}
