package imagearchive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"berth/internal/errdefs"
	"berth/internal/image"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	manifestFile   = "manifest.json"
	indexFile      = "index.json"
	layoutFile     = "oci-layout"
	reposFile      = "repositories"
	annotationName = "io.containerd.image.name"
	layoutContent  = `{"imageLayoutVersion": "1.0.0"}`
)

// manifestItem is one entry of manifest.json.
type manifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	Parent       digest.Digest                        `json:",omitempty"`
	LayerSources map[digest.Digest]ocispec.Descriptor `json:",omitempty"`
}

type saveImage struct {
	id     digest.Digest
	refs   []reference.NamedTagged
	raw    []byte
	cfg    dockerspec.DockerOCIImage
	layers []image.Layer
	parent digest.Digest
}

// resolveNames maps names to images in first-seen order, as docker save:
// a bare repository name saves every tag of it, an ID or a digest saves the
// image without a name.
func resolveNames(ctx context.Context, st *image.Store, names []string) ([]*saveImage, error) {
	var out []*saveImage
	byID := map[digest.Digest]*saveImage{}
	add := func(img *image.Image, ref reference.NamedTagged) {
		si := byID[img.ID]
		if si == nil {
			si = &saveImage{id: img.ID, parent: img.Parent}
			byID[img.ID] = si
			out = append(out, si)
		}
		if ref == nil {
			return
		}
		for _, r := range si.refs {
			if r.String() == ref.String() {
				return
			}
		}
		si.refs = append(si.refs, ref)
	}
	for _, name := range names {
		ref, err := reference.ParseAnyReference(name)
		if err != nil {
			return nil, errdefs.InvalidParameter(err)
		}
		named, isNamed := ref.(reference.Named)
		if isNamed && reference.IsNameOnly(named) {
			found := false
			for _, img := range st.List(ctx) {
				for _, t := range img.RepoTags {
					tn, err := reference.ParseNormalizedNamed(t)
					if err != nil || tn.Name() != named.Name() {
						continue
					}
					if tagged, ok := tn.(reference.NamedTagged); ok {
						add(img, tagged)
						found = true
					}
				}
			}
			if found {
				continue
			}
		}
		img, err := st.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		var tagged reference.NamedTagged
		if isNamed {
			if t, ok := reference.TagNameOnly(named).(reference.NamedTagged); ok {
				if _, canonical := named.(reference.Canonical); !canonical {
					tagged = t
				}
			}
		}
		add(img, tagged)
	}
	for _, si := range out {
		raw, _, err := st.RawConfig(ctx, si.id.String())
		if err != nil {
			return nil, err
		}
		si.raw = raw
		if err := json.Unmarshal(raw, &si.cfg); err != nil {
			return nil, errdefs.System(err)
		}
		if len(si.cfg.RootFS.DiffIDs) == 0 {
			return nil, errdefs.InvalidParameterf("empty export - not implemented")
		}
		if si.layers, err = st.LayerChain(ctx, si.id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// blob is one file under blobs/sha256 of the archive.
type blob struct {
	d     digest.Digest
	size  int64
	mtime time.Time
	data  []byte                               // small blobs
	open  func() (io.ReadCloser, int64, error) // layers
}

// Save writes the images names name as one archive to w.
func Save(ctx context.Context, st *image.Store, names []string, w io.Writer) error {
	imgs, err := resolveNames(ctx, st, names)
	if err != nil {
		return err
	}
	blobs := map[digest.Digest]*blob{}
	var spools []string
	defer func() {
		for _, p := range spools {
			os.Remove(p)
		}
	}()
	var manifest []manifestItem
	var descs []ocispec.Descriptor
	repos := map[string]map[string]string{}
	inSet := map[digest.Digest]bool{}
	for _, si := range imgs {
		inSet[si.id] = true
	}
	for _, si := range imgs {
		mtime := time.Unix(0, 0)
		if si.cfg.Created != nil {
			mtime = *si.cfg.Created
		}
		blobs[si.id] = &blob{d: si.id, size: int64(len(si.raw)), mtime: mtime, data: si.raw}
		item := manifestItem{Config: blobPath(si.id)}
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: si.id, Size: int64(len(si.raw))},
		}
		for i, diffID := range si.cfg.RootFS.DiffIDs {
			b := blobs[diffID]
			if b == nil {
				b, err = layerBlob(ctx, st, si.layers[i], mtime, &spools)
				if err != nil {
					return err
				}
				blobs[diffID] = b
			}
			item.Layers = append(item.Layers, blobPath(diffID))
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: diffID, Size: b.size})
		}
		mraw, err := json.Marshal(m)
		if err != nil {
			return errdefs.System(err)
		}
		md := digest.FromBytes(mraw)
		blobs[md] = &blob{d: md, size: int64(len(mraw)), mtime: time.Unix(0, 0), data: mraw}
		plat := &ocispec.Platform{OS: si.cfg.OS, Architecture: si.cfg.Architecture, Variant: si.cfg.Variant, OSVersion: si.cfg.OSVersion}
		top := si.cfg.RootFS.DiffIDs[len(si.cfg.RootFS.DiffIDs)-1].Encoded()
		for _, ref := range si.refs {
			fam := reference.FamiliarName(ref)
			if repos[fam] == nil {
				repos[fam] = map[string]string{}
			}
			repos[fam][ref.Tag()] = top
			item.RepoTags = append(item.RepoTags, reference.FamiliarString(ref))
			descs = append(descs, ocispec.Descriptor{
				MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(mraw)), Platform: plat,
				Annotations: map[string]string{annotationName: ref.String(), ocispec.AnnotationRefName: ref.Tag()},
			})
		}
		if len(si.refs) == 0 {
			descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(mraw)), Platform: plat})
		}
		if inSet[si.parent] {
			item.Parent = si.parent
		}
		manifest = append(manifest, item)
	}
	return writeArchive(ctx, w, blobs, manifest, descs, repos)
}

func blobPath(d digest.Digest) string { return path.Join("blobs", d.Algorithm().String(), d.Encoded()) }

// layerBlob sizes a layer's tar; a tar of unknown size (a layer stored
// without its split) is spooled to a temp file first.
func layerBlob(ctx context.Context, st *image.Store, l image.Layer, mtime time.Time, spools *[]string) (*blob, error) {
	rc, size, err := st.LayerTar(ctx, l.ChainID)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		rc.Close()
		return &blob{d: l.DiffID, size: size, mtime: mtime, open: func() (io.ReadCloser, int64, error) {
			return st.LayerTar(ctx, l.ChainID)
		}}, nil
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "berth-save-")
	if err != nil {
		return nil, errdefs.System(err)
	}
	*spools = append(*spools, f.Name())
	n, err := io.Copy(f, rc)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("saving layer %s: %w", l.DiffID, err)
	}
	name := f.Name()
	return &blob{d: l.DiffID, size: n, mtime: mtime, open: func() (io.ReadCloser, int64, error) {
		f, err := os.Open(name)
		return f, n, err
	}}, nil
}

// writeArchive writes the entries in the order Docker's archiver walks
// its scratch directory: sorted, directories before their contents.
func writeArchive(ctx context.Context, w io.Writer, blobs map[digest.Digest]*blob, manifest []manifestItem,
	descs []ocispec.Descriptor, repos map[string]map[string]string) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, data []byte, mtime time.Time) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := dir("blobs/"); err != nil {
		return err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return err
	}
	keys := make([]digest.Digest, 0, len(blobs))
	for d := range blobs {
		keys = append(keys, d)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, d := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeBlob(tw, blobs[d]); err != nil {
			return err
		}
	}
	idx, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs})
	if err != nil {
		return errdefs.System(err)
	}
	if err := file(indexFile, idx, epoch); err != nil {
		return err
	}
	mj, err := json.Marshal(manifest)
	if err != nil {
		return errdefs.System(err)
	}
	if err := file(manifestFile, append(mj, '\n'), epoch); err != nil {
		return err
	}
	if err := file(layoutFile, []byte(layoutContent), epoch); err != nil {
		return err
	}
	if len(repos) > 0 {
		rj, err := json.Marshal(repos)
		if err != nil {
			return errdefs.System(err)
		}
		if err := file(reposFile, append(rj, '\n'), epoch); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeBlob(tw *tar.Writer, b *blob) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: blobPath(b.d), Mode: 0o644, Size: b.size, ModTime: b.mtime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if b.data != nil {
		_, err := tw.Write(b.data)
		return err
	}
	rc, size, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if size != b.size {
		return errdefs.Systemf("layer %s changed size while saving", b.d)
	}
	if _, err := io.Copy(tw, rc); err != nil {
		return fmt.Errorf("saving layer %s: %w", b.d, err)
	}
	return nil
}
