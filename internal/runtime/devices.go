package runtime

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// DevicesFromPath reads the host device (or every device below a host
// directory) for --device host[:container][:perms]. It does I/O, so the
// daemon calls it and hands the result to Spec in Config.Devices.
func DevicesFromPath(hostPath, ctrPath, perms string) ([]Device, error) {
	if ctrPath == "" {
		ctrPath = hostPath
	}
	var st unix.Stat_t
	if err := unix.Stat(hostPath, &st); err != nil {
		return nil, errdefs.InvalidParameterf("error gathering device information while adding custom device %q: %v", hostPath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		d, ok := deviceFromStat(&st)
		if !ok {
			return nil, errdefs.InvalidParameterf("error gathering device information while adding custom device %q: not a device node", hostPath)
		}
		d.Path, d.Permissions = ctrPath, perms
		return []Device{d}, nil
	}
	var out []Device
	err := filepath.WalkDir(hostPath, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if d, ok := deviceFromStat(&st); ok {
			d.Path = filepath.Join(ctrPath, strings.TrimPrefix(p, hostPath))
			d.Permissions = perms
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// HostDevices lists the host's /dev nodes for --privileged, leaving out
// the pty, shm and mqueue trees the container gets its own of and the
// nodes every container has anyway.
func HostDevices() ([]Device, error) {
	skip := map[string]bool{"/dev/pts": true, "/dev/shm": true, "/dev/mqueue": true, "/dev/console": true, "/dev/ptmx": true}
	for _, d := range defaultDevices() {
		skip[d.Path] = true
	}
	var out []Device
	err := filepath.WalkDir("/dev", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if skip[p] {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || e.Type()&fs.ModeDevice == 0 {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if d, ok := deviceFromStat(&st); ok {
			d.Path, d.Permissions = p, "rwm"
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func deviceFromStat(st *unix.Stat_t) (Device, bool) {
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return Device{}, false
	}
	return Device{
		Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: os.FileMode(st.Mode & 0o777), UID: st.Uid, GID: st.Gid,
	}, true
}
