package imagearchive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"berth/internal/errdefs"
	"berth/internal/image"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
)

// loadItem is one image to load, whichever layout named it.
type loadItem struct {
	config   []byte
	cfg      dockerspec.DockerOCIImage
	layers   []string // archive paths, one per diff ID
	repoTags []string
	parent   digest.Digest
}

// Loaded is what one load stored.
type Loaded struct {
	ID   digest.Digest
	Tags []string // familiar, as loaded
}

// Load reads an archive from r and stores its images; out receives
// Docker's lines ("Loaded image: busybox:latest", …). Events are the
// caller's.
func Load(ctx context.Context, st *image.Store, r io.Reader, out func(line string)) ([]Loaded, error) {
	dir, err := st.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sp, err := readSpool(ctx, r, dir)
	if err != nil {
		return nil, err
	}
	var items []*loadItem
	switch {
	case sp.has(manifestFile):
		items, err = dockerItems(sp)
	case sp.has(indexFile):
		items, err = ociItems(sp)
	default:
		err = errdefs.InvalidParameterf("invalid image archive: it has neither %s nor %s", manifestFile, indexFile)
	}
	if err != nil {
		return nil, err
	}
	if err := checkItems(sp, items); err != nil {
		return nil, err
	}
	var loaded []Loaded
	idLines := ""
	refCount := 0
	for _, it := range items {
		l, err := loadOne(ctx, st, sp, it, out)
		if err != nil {
			return loaded, err
		}
		loaded = append(loaded, l)
		idLines += fmt.Sprintf("Loaded image ID: %s\n", l.ID)
		refCount = len(l.Tags) // as Docker: only the last image's names count
	}
	setParents(ctx, st, items, loaded)
	if refCount == 0 && idLines != "" {
		out(idLines)
	}
	return loaded, nil
}

func dockerItems(sp *spool) ([]*loadItem, error) {
	raw, err := sp.read(manifestFile)
	if err != nil {
		return nil, err
	}
	var manifest []manifestItem
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %s: %w", manifestFile, err))
	}
	if manifest == nil {
		return nil, errdefs.InvalidParameterf("invalid manifest, manifest cannot be null (but can be [])")
	}
	var items []*loadItem
	for _, m := range manifest {
		cfg, err := sp.read(m.Config)
		if err != nil {
			return nil, err
		}
		items = append(items, &loadItem{config: cfg, layers: m.Layers, repoTags: m.RepoTags, parent: m.Parent})
	}
	return items, nil
}

// checkItems validates everything a load needs before anything is stored.
func checkItems(sp *spool, items []*loadItem) error {
	for _, it := range items {
		if err := json.Unmarshal(it.config, &it.cfg); err != nil {
			return errdefs.InvalidParameter(fmt.Errorf("invalid image config: %w", err))
		}
		if it.cfg.OS != "" && it.cfg.OS != "linux" {
			return errdefs.InvalidParameterf("cannot load %s image on %s", it.cfg.OS, runtime.GOOS)
		}
		if expected, actual := len(it.layers), len(it.cfg.RootFS.DiffIDs); expected != actual {
			return errdefs.InvalidParameterf("invalid manifest, layers length mismatch: expected %d, got %d", expected, actual)
		}
		for _, d := range it.cfg.RootFS.DiffIDs {
			if err := d.Validate(); err != nil {
				return errdefs.InvalidParameterf("invalid image config: diff ID %q: %v", d, err)
			}
		}
		for _, l := range it.layers {
			if !sp.has(l) {
				return missing(l)
			}
		}
		for _, t := range it.repoTags {
			named, err := reference.ParseNormalizedNamed(t)
			if err != nil {
				return errdefs.InvalidParameter(err)
			}
			if _, ok := named.(reference.NamedTagged); !ok {
				return errdefs.InvalidParameterf("invalid tag %q", t)
			}
		}
	}
	return nil
}

// loadOne registers an image's missing layers, creates it and tags it; on
// failure the layers it registered are discarded.
func loadOne(ctx context.Context, st *image.Store, sp *spool, it *loadItem, out func(string)) (_ Loaded, retErr error) {
	var registered []digest.Digest
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
		if retErr != nil && len(registered) > 0 {
			st.DiscardLayers(context.WithoutCancel(ctx), registered)
		}
	}()
	var parent digest.Digest
	for i, diffID := range it.cfg.RootFS.DiffIDs {
		chain := image.ChainID(parent, diffID)
		if !st.HasLayer(chain) {
			l, release, err := registerFile(ctx, st, sp, parent, it.layers[i])
			if err != nil {
				return Loaded{}, err
			}
			releases = append(releases, release)
			registered = append(registered, l.ChainID)
			if l.DiffID != diffID {
				return Loaded{}, errdefs.InvalidParameterf("invalid diffID for layer %d: expected %q, got %q", i, diffID, l.DiffID)
			}
		}
		parent = chain
	}
	img, err := st.CreateImage(ctx, it.config, "")
	if err != nil {
		return Loaded{}, err
	}
	res := Loaded{ID: img.ID}
	for _, t := range it.repoTags {
		named, _ := reference.ParseNormalizedNamed(t)
		fam := reference.FamiliarString(named)
		if prev, err := st.Get(ctx, named.String()); err == nil && prev.ID != img.ID {
			out(fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string\n", fam, prev.ID))
		}
		if err := st.Tag(ctx, img.ID, named.String()); err != nil {
			return res, err
		}
		out(fmt.Sprintf("Loaded image: %s\n", fam))
		res.Tags = append(res.Tags, fam)
	}
	return res, nil
}

func registerFile(ctx context.Context, st *image.Store, sp *spool, parent digest.Digest, name string) (image.Layer, func(), error) {
	p, ok := sp.lookup(name)
	if !ok {
		return image.Layer{}, nil, missing(name)
	}
	f, err := os.Open(p)
	if err != nil {
		return image.Layer{}, nil, errdefs.System(err)
	}
	defer f.Close()
	l, release, err := st.RegisterLayer(ctx, parent, f)
	if err != nil {
		if errdefs.IsInvalidParameter(err) || errors.Is(err, io.ErrUnexpectedEOF) {
			return image.Layer{}, nil, errdefs.InvalidParameter(fmt.Errorf("invalid layer %s: %w", name, err))
		}
		return image.Layer{}, nil, err
	}
	return l, release, nil
}

// setParents records the parent links manifest.json gives when the parent
// was loaded in the same archive, as Docker does.
func setParents(ctx context.Context, st *image.Store, items []*loadItem, loaded []Loaded) {
	ids := map[digest.Digest]bool{}
	for _, l := range loaded {
		ids[l.ID] = true
	}
	for i, l := range loaded {
		if p := items[i].parent; p != "" && p != l.ID && ids[p] {
			st.SetParent(ctx, l.ID, p)
		}
	}
}
