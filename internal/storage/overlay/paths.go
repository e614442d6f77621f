package overlay

import (
	"path/filepath"
	"strings"

	"berth/internal/storage"
)

// DiffPath is <home>/<id>/diff.
func (d *Driver) DiffPath(id string) (string, error) {
	if !d.Exists(id) {
		return "", storage.NotFound(id)
	}
	return filepath.Join(d.dir(id), "diff"), nil
}

// Metadata is what Docker's overlay2 reports for a layer: the real
// directories (short links resolved) of its lowers, its diff as UpperDir,
// and where it would be mounted with its work directory.
func (d *Driver) Metadata(id string) (map[string]string, error) {
	if !d.Exists(id) {
		return nil, storage.NotFound(id)
	}
	dir := d.dir(id)
	m := map[string]string{
		"MergedDir": filepath.Join(dir, "merged"),
		"UpperDir":  filepath.Join(dir, "diff"),
		"WorkDir":   filepath.Join(dir, "work"),
	}
	lowers, err := d.lowers(id)
	if err != nil {
		return nil, err
	}
	var real []string
	for _, l := range lowers {
		if p, err := filepath.EvalSymlinks(l); err == nil {
			l = p
		}
		real = append(real, l)
	}
	if len(real) > 0 {
		m["LowerDir"] = strings.Join(real, ":")
	}
	return m, nil
}
