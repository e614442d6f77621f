package containerfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
	"berth/internal/safepath"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// RuntimePaths are the entries the runtime puts in a container's writable
// layer as mount points. Docker keeps them in a separate init layer, so
// they never show in diff; berth leaves them out of diff the same way.
var RuntimePaths = []string{"/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab", "/dev", "/proc", "/sys"}

// Changes turns the layer tar of a container's writable layer (OCI
// whiteouts) into diff's list: a deletion (whiteout) is D, an entry that
// exists in the image below (lower, nil for none) is C, anything else A.
// The runtime's mount points (RuntimePaths and mounts, the container's
// own mount destinations) are left out with what is below them, and so are
// the directories that changed only to hold one. The list is sorted by path.
func Changes(diff io.Reader, lower *safepath.Root, mounts []string) ([]apicontainer.FilesystemChange, error) {
	tr := tar.NewReader(diff)
	byPath := map[string]apicontainer.ChangeType{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errdefs.System(fmt.Errorf("reading layer diff: %w", err))
		}
		p := path.Clean("/" + hdr.Name)
		dir, base := path.Split(p)
		switch {
		case base == opaqueMarker:
			// The directory itself is listed as its own entry.
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			byPath[path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))] = apicontainer.ChangeDelete
		default:
			kind := apicontainer.ChangeAdd
			if lower != nil {
				if _, err := lower.Lstat(p); err == nil {
					kind = apicontainer.ChangeModify
				} else if !isNotExist(err) {
					return nil, errdefs.System(err)
				}
			}
			byPath[p] = kind
		}
	}
	hide := append(append([]string(nil), RuntimePaths...), mounts...)
	for i, m := range hide {
		hide[i] = path.Clean("/" + m)
	}
	return filterRuntime(byPath, hide), nil
}

// filterRuntime drops the runtime's mount points (and what is below them)
// and the directories that changed only because one was created in them.
func filterRuntime(byPath map[string]apicontainer.ChangeType, hide []string) []apicontainer.FilesystemChange {
	hidden := func(p string) bool {
		for _, r := range hide {
			if p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
	var paths []string
	for p, k := range byPath {
		if hidden(p) && k != apicontainer.ChangeDelete {
			continue
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	holders := map[string]bool{}
	for _, r := range hide {
		if _, ok := byPath[r]; ok {
			for d := path.Dir(r); ; d = path.Dir(d) {
				holders[d] = true
				if d == "/" {
					break
				}
			}
		}
	}
	out := make([]apicontainer.FilesystemChange, 0, len(paths))
	for i, p := range paths {
		if holders[p] && byPath[p] == apicontainer.ChangeModify && !hasChild(paths[i+1:], p) {
			continue
		}
		if p == "/" {
			continue
		}
		out = append(out, apicontainer.FilesystemChange{Path: p, Kind: byPath[p]})
	}
	return out
}

// hasChild reports whether rest holds an entry below dir.
func hasChild(rest []string, dir string) bool {
	for _, p := range rest {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}
