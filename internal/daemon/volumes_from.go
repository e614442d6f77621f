package daemon

import (
	"path"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"berth/internal/errdefs"
)

// volumesFrom resolves --volumes-from "c[:ro|rw]" into the source
// containers' volume and bind mounts, as Docker: the mode given overrides
// each mount's, none keeps it. Copies are never anonymous to the new
// container, so its rm -v leaves them to their owner.
func (s *Containers) volumesFrom(refs []string) ([]mountPoint, error) {
	var out []mountPoint
	for _, spec := range refs {
		ref, mode, _ := strings.Cut(spec, ":")
		switch mode {
		case "", "ro", "rw":
		default:
			return nil, errdefs.InvalidParameterf("invalid mode for volumes-from: %s", mode)
		}
		src, err := s.store.Lookup(ref)
		if err != nil {
			return nil, err
		}
		s.volumes.mu.Lock()
		mps := append([]mountPoint(nil), s.volumes.mounts[src.ID]...)
		s.volumes.mu.Unlock()
		for _, mp := range mps {
			if mp.Type != mount.TypeVolume && mp.Type != mount.TypeBind {
				continue
			}
			mp.Anonymous = false
			// The volume is already filled (or deliberately empty).
			mp.NoCopy = true
			if mode != "" {
				mp.RW = mode == "rw"
				mp.Mode = mode
			}
			out = append(out, mp)
		}
	}
	return out, nil
}

// mergeVolumesFrom adds the inherited mounts to a new container's own: its
// binds and --mounts win a destination, an inherited mount replaces an
// anonymous (image or -v /path) volume at the same place.
func mergeVolumesFrom(own, from []mountPoint) []mountPoint {
	if len(from) == 0 {
		return own
	}
	taken := map[string]bool{}
	for _, mp := range own {
		if !mp.Anonymous {
			taken[path.Clean(mp.Destination)] = true
		}
	}
	var out []mountPoint
	inherited := map[string]bool{}
	for _, mp := range from {
		d := path.Clean(mp.Destination)
		if taken[d] || inherited[d] {
			continue
		}
		inherited[d] = true
		out = append(out, mp)
	}
	for _, mp := range own {
		if mp.Anonymous && inherited[path.Clean(mp.Destination)] {
			continue
		}
		out = append(out, mp)
	}
	return out
}

// usesVolume is ps's volume filter: a container matches when one of its
// mounts has a value as its volume name or its destination. No values
// match everything.
func (v *Volumes) usesVolume(id string, values map[string]bool) bool {
	if len(values) == 0 {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, mp := range v.mounts[id] {
		if (mp.Name != "" && values[mp.Name]) || values[mp.Destination] {
			return true
		}
	}
	return false
}
