package daemon

import (
	"fmt"
	"os"
	"path"
	"strings"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"berth/internal/errdefs"
	"berth/internal/volume"
)

// parseMounts turns a create request's Binds, Mounts, Tmpfs and Volumes
// (the user's anonymous ones and the image's) into mount points, with
// Docker's validation and wording. Volume mount points of anonymous volumes
// have an empty Name until prepare creates them. VolumesFrom is resolved by
// the caller (volumesFrom), which knows the other containers.
func parseMounts(cfg *apicontainer.Config, hc *apicontainer.HostConfig) ([]mountPoint, error) {
	var out []mountPoint
	seen := map[string]bool{}
	claim := func(dst string) error {
		dst = path.Clean(dst)
		if seen[dst] {
			return errdefs.InvalidParameterf("Duplicate mount point: %s", dst)
		}
		seen[dst] = true
		return nil
	}
	for _, b := range hc.Binds {
		mp, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if err := claim(mp.Destination); err != nil {
			return nil, err
		}
		out = append(out, mp)
	}
	for _, m := range hc.Mounts {
		mp, err := parseMountSpec(m)
		if err != nil {
			return nil, err
		}
		if err := claim(m.Target); err != nil {
			return nil, err
		}
		out = append(out, *mp)
	}
	for dst := range hc.Tmpfs {
		if !path.IsAbs(dst) {
			return nil, errdefs.InvalidParameterf("invalid mount config for type \"tmpfs\": invalid mount path: '%s' mount path must be absolute", dst)
		}
		if err := claim(dst); err != nil {
			return nil, err
		}
	}
	// Image and anonymous volumes fill what nothing else mounts, as in
	// Docker (a -v over an image VOLUME replaces it).
	for dst := range cfg.Volumes {
		if !path.IsAbs(dst) {
			return nil, errdefs.InvalidParameterf("invalid mount config for type \"volume\": invalid mount path: '%s' mount path must be absolute", dst)
		}
		if seen[path.Clean(dst)] {
			continue
		}
		seen[path.Clean(dst)] = true
		out = append(out, mountPoint{Type: mount.TypeVolume, Destination: path.Clean(dst), RW: true, Anonymous: true})
	}
	return out, nil
}

// parseBind parses one -v value with a source: "name:/dst[:mode]" or
// "/host:/dst[:mode]".
func parseBind(spec string) (mountPoint, error) {
	parts := strings.Split(spec, ":")
	var src, dst, mode string
	switch len(parts) {
	case 2:
		src, dst = parts[0], parts[1]
	case 3:
		src, dst, mode = parts[0], parts[1], parts[2]
	default:
		return mountPoint{}, errdefs.InvalidParameterf("invalid volume specification: '%s'", spec)
	}
	if dst == "" || src == "" {
		return mountPoint{}, errdefs.InvalidParameterf("invalid volume specification: '%s'", spec)
	}
	mp := mountPoint{Destination: path.Clean(dst), RW: true, Mode: mode}
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "":
		case "ro":
			mp.RW = false
		case "rw":
		case "z", "Z":
		case "nocopy":
			mp.NoCopy = true
		case "private", "rprivate", "shared", "rshared", "slave", "rslave":
			mp.Propagation = o
		default:
			return mountPoint{}, errdefs.InvalidParameterf("invalid mode: %s", mode)
		}
	}
	if !path.IsAbs(dst) {
		return mountPoint{}, errdefs.InvalidParameterf("invalid volume specification: '%s': invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute", spec, bindOrVolume(src), dst)
	}
	if mp.Destination == "/" {
		return mountPoint{}, errdefs.InvalidParameterf("invalid volume specification: '%s': invalid mount config for type \"%s\": destination can't be '/'", spec, bindOrVolume(src))
	}
	if path.IsAbs(src) {
		mp.Type, mp.Source, mp.CreateHost = mount.TypeBind, path.Clean(src), true
		if mp.Propagation == "" {
			mp.Propagation = "rprivate"
		}
		return mp, nil
	}
	if mp.Propagation != "" {
		return mountPoint{}, errdefs.InvalidParameterf("invalid volume specification: '%s': invalid mount config for type \"volume\": field Propagation must not be specified", spec)
	}
	if err := volume.ValidateName(src); err != nil {
		return mountPoint{}, err
	}
	mp.Type, mp.Name = mount.TypeVolume, src
	if mp.Mode == "" {
		mp.Mode = "z"
	}
	return mp, nil
}

func bindOrVolume(src string) string {
	if path.IsAbs(src) {
		return "bind"
	}
	return "volume"
}

// parseMountSpec validates one --mount.
func parseMountSpec(m mount.Mount) (*mountPoint, error) {
	bad := func(format string, a ...any) error {
		return errdefs.InvalidParameterf("invalid mount config for type %q: %s", m.Type, fmt.Sprintf(format, a...))
	}
	if m.Target == "" {
		return nil, bad("field Target must not be empty")
	}
	if !path.IsAbs(m.Target) {
		return nil, bad("invalid mount path: '%s' mount path must be absolute", m.Target)
	}
	mp := &mountPoint{Type: m.Type, Destination: path.Clean(m.Target), RW: !m.ReadOnly}
	switch m.Type {
	case mount.TypeBind:
		if m.Source == "" {
			return nil, bad("field Source must not be empty")
		}
		if !path.IsAbs(m.Source) {
			return nil, bad("invalid mount path: '%s' mount path must be absolute", m.Source)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return nil, bad("bind source path does not exist: %s", m.Source)
		}
		mp.Source = path.Clean(m.Source)
		mp.Propagation = "rprivate"
		if m.BindOptions != nil && m.BindOptions.Propagation != "" {
			mp.Propagation = string(m.BindOptions.Propagation)
		}
	case mount.TypeVolume:
		if m.BindOptions != nil {
			return nil, bad("field BindOptions must not be specified")
		}
		if m.Source != "" {
			if err := volume.ValidateName(m.Source); err != nil {
				return nil, err
			}
			mp.Name = m.Source
		} else {
			mp.Anonymous = true
		}
		if m.VolumeOptions != nil {
			mp.NoCopy = m.VolumeOptions.NoCopy
			mp.Labels = m.VolumeOptions.Labels
			if m.VolumeOptions.DriverConfig != nil && m.VolumeOptions.DriverConfig.Name != "" && m.VolumeOptions.DriverConfig.Name != volume.DefaultDriver {
				return nil, errdefs.NotFoundf("error looking up volume plugin %s: plugin %q not found", m.VolumeOptions.DriverConfig.Name, m.VolumeOptions.DriverConfig.Name)
			}
		}
	case mount.TypeTmpfs:
		if m.Source != "" {
			return nil, bad("field Source must not be specified")
		}
		// Listed in Mounts like Docker does; mounted from the HostConfig.
		mp.Source = ""
	default:
		return nil, errdefs.InvalidParameterf("mount type unknown: %q", m.Type)
	}
	return mp, nil
}
