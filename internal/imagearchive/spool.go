package imagearchive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"berth/internal/archive"
	"berth/internal/errdefs"
)

// spool holds an archive's regular files in a scratch directory under
// numbered names; the archive's own names (untrusted) are only map keys.
type spool struct {
	dir   string
	files map[string]string // clean archive name -> scratch file
	links map[string]string // clean archive name -> symlink target
}

func cleanName(unsafeName string) string {
	p := path.Clean("/" + unsafeName)
	if p == "/" {
		return "."
	}
	return p[1:]
}

// readSpool reads the whole (possibly compressed) archive r into dir.
func readSpool(ctx context.Context, r io.Reader, dir string) (*spool, error) {
	dr, err := archive.DecompressStream(r)
	if err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %w", err))
	}
	defer dr.Close()
	sp := &spool{dir: dir, files: map[string]string{}, links: map[string]string{}}
	tr := tar.NewReader(dr)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %w", err))
		}
		name := cleanName(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeReg:
			p := filepath.Join(dir, strconv.Itoa(n))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return nil, errdefs.System(err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: reading %s: %w", name, err))
			}
			sp.files[name] = p
			delete(sp.links, name)
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			sp.links[name] = cleanName(target)
			delete(sp.files, name)
		case tar.TypeLink:
			if p, ok := sp.files[cleanName(hdr.Linkname)]; ok {
				sp.files[name] = p
			}
		}
	}
	return sp, nil
}

// lookup finds the scratch file an archive path names, following the
// archive's symlinks (as Docker's older saves use for shared layers).
func (sp *spool) lookup(name string) (string, bool) {
	name = cleanName(name)
	for hops := 0; hops < 16; hops++ {
		if p, ok := sp.files[name]; ok {
			return p, true
		}
		t, ok := sp.links[name]
		if !ok {
			return "", false
		}
		name = t
	}
	return "", false
}

func (sp *spool) has(name string) bool {
	_, ok := sp.lookup(name)
	return ok
}

// read returns a small file's contents.
func (sp *spool) read(name string) ([]byte, error) {
	p, ok := sp.lookup(name)
	if !ok {
		return nil, missing(name)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, errdefs.System(err)
	}
	return b, nil
}

func missing(name string) error {
	return errdefs.InvalidParameterf("invalid image archive: %s is not in the archive", name)
}
