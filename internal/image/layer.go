package image

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"berth/internal/archive"
	"berth/internal/errdefs"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layer describes a stored layer.
type Layer struct {
	ChainID digest.Digest
	DiffID  digest.Digest
	Size    int64
}

// RegisterLayer stores the layer tar r (plain or compressed) on top of the
// layer with chain ID parent ("" for a base layer) and returns it. The same
// content on the same parent is stored once. The layer is protected from
// removal until release is called; call it once an image references the
// layer (CreateImage) or the caller gives up.
func (s *Store) RegisterLayer(ctx context.Context, parent digest.Digest, r io.Reader) (Layer, func(), error) {
	var parentCache string
	s.mu.Lock()
	if parent != "" {
		pl := s.layers[parent]
		if pl == nil {
			s.mu.Unlock()
			return Layer{}, nil, errdefs.NotFoundf("image: parent layer %s not found", parent)
		}
		parentCache = pl.CacheID
		pl.holds++ // keep the parent while we build on it
		defer s.release(parent)
	}
	s.mu.Unlock()

	cacheID := randomID()
	if err := s.driver.Create(ctx, cacheID, parentCache); err != nil {
		return Layer{}, nil, err
	}
	// The exact bytes are kept beside the layer (blobs.go) for push and save.
	tee, err := s.newBlobTee(r)
	if err != nil {
		s.driver.Remove(context.WithoutCancel(ctx), cacheID)
		return Layer{}, nil, err
	}
	defer tee.abort()
	// The diff ID is the digest of the uncompressed tar as stored.
	dr, err := archive.DecompressStream(tee)
	if err != nil {
		s.driver.Remove(context.WithoutCancel(ctx), cacheID)
		return Layer{}, nil, err
	}
	h := sha256.New()
	split := s.newSplit() // the tar's framing, to give the tar back byte for byte
	size, err := s.driver.ApplyDiff(ctx, cacheID, io.TeeReader(dr, io.MultiWriter(h, split)))
	dr.Close()
	if err == nil {
		// A verifying reader reports a bad digest only at its end.
		_, err = io.Copy(io.Discard, tee)
	}
	if err != nil {
		split.discard()
		s.driver.Remove(context.WithoutCancel(ctx), cacheID)
		return Layer{}, nil, fmt.Errorf("image: applying layer: %w", err)
	}
	diffID := digest.NewDigest(digest.SHA256, h)
	defer func() { _ = s.commitBlob(tee, diffID) }()
	rec := &layerRec{ChainID: chainID(parent, diffID), DiffID: diffID, Parent: parent, CacheID: cacheID, Size: size}

	s.mu.Lock()
	if existing := s.layers[rec.ChainID]; existing != nil {
		existing.holds++
		s.mu.Unlock()
		split.discard()
		s.driver.Remove(context.WithoutCancel(ctx), cacheID)
		return existing.public(), s.releaser(rec.ChainID), nil
	}
	// The record is the layer's "complete" marker: written while holding mu
	// so a concurrent registration of the same chain sees one or the other.
	split.commit(ctx, s, rec.ChainID)
	if err := writeJSONAtomic(s.layerPath(rec.ChainID), rec); err != nil {
		os.Remove(s.splitPath(rec.ChainID))
		s.mu.Unlock()
		s.driver.Remove(context.WithoutCancel(ctx), cacheID)
		return Layer{}, nil, err
	}
	rec.holds = 1
	s.layers[rec.ChainID] = rec
	s.mu.Unlock()
	return rec.public(), s.releaser(rec.ChainID), nil
}

func (l *layerRec) public() Layer { return Layer{ChainID: l.ChainID, DiffID: l.DiffID, Size: l.Size} }

func (s *Store) releaser(chain digest.Digest) func() {
	done := false
	return func() {
		if !done {
			done = true
			s.mu.Lock()
			s.release(chain)
			s.mu.Unlock()
		}
	}
}

// release drops a hold. Callers hold mu. An unreferenced layer stays on
// disk until an image delete or the next open collects it.
func (s *Store) release(chain digest.Digest) {
	if l := s.layers[chain]; l != nil && l.holds > 0 {
		l.holds--
	}
}

// HasLayer reports whether the layer with chain ID chain is stored.
func (s *Store) HasLayer(chain digest.Digest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layers[chain] != nil
}

// CreateImage stores an image config whose layers (RootFS.DiffIDs) are all
// stored already and tags it ref if ref is not "". The ID is the digest of
// config exactly as given.
func (s *Store) CreateImage(ctx context.Context, config []byte, ref string) (*Image, error) {
	rec, err := s.parseImage(config)
	if err != nil {
		return nil, err
	}
	var named string
	if ref != "" {
		n, err := normalizeTag(ref)
		if err != nil {
			return nil, err
		}
		named = n.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range rec.chain {
		if s.layers[c] == nil {
			return nil, errdefs.NotFoundf("image: layer %s of image %s is not stored", c, rec.id)
		}
	}
	if existing := s.images[rec.id]; existing != nil {
		rec = existing
	} else {
		// The digest was computed over these bytes; write and publish.
		if err := writeFileAtomic(s.configPath(rec.id), config); err != nil {
			return nil, err
		}
		s.images[rec.id] = rec
	}
	if named != "" {
		s.refs[named] = rec.id
		if err := s.saveRefs(); err != nil {
			return nil, err
		}
	}
	return s.snapshot(rec), nil
}

// SetParent records the image id was built or committed from.
func (s *Store) SetParent(ctx context.Context, id, parent digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.images[id]
	if img == nil {
		return errdefs.NotFoundf("No such image: %s", id)
	}
	img.parent = parent
	parents := map[digest.Digest]digest.Digest{}
	for i, r := range s.images {
		if r.parent != "" {
			parents[i] = r.parent
		}
	}
	return writeJSONAtomic(s.parentPath(), parents)
}

// ImportOptions are the knobs of docker import.
type ImportOptions struct {
	Config  dockerspec.DockerOCIImageConfig
	Comment string   // history comment; default "Imported from -"
	Changes []string // Dockerfile-style instructions, see ApplyChanges
	Ref     string   // optional tag
}

// Import makes a one-layer image from the rootfs tar r, as docker import.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*Image, error) {
	cfg := opts.Config
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	var tagErr error
	if opts.Ref != "" {
		_, tagErr = normalizeTag(opts.Ref)
	}
	if tagErr != nil {
		return nil, tagErr
	}
	layer, release, err := s.RegisterLayer(ctx, "", r)
	if err != nil {
		return nil, err
	}
	defer release()
	now := time.Now().UTC()
	comment := opts.Comment
	if comment == "" {
		comment = "Imported from -"
	}
	img := dockerspec.DockerOCIImage{
		Image: ocispec.Image{
			Created:  &now,
			Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.DiffID}},
			History:  []ocispec.History{{Created: &now, Comment: comment}},
		},
		Config: cfg,
	}
	raw, err := json.Marshal(img)
	if err != nil {
		return nil, errdefs.System(err)
	}
	return s.CreateImage(ctx, raw, opts.Ref)
}

// Delete removes image id with its references, and the layers no other
// image, container or pending registration uses; it returns their chain
// IDs. Whether a container uses the image is the caller's check.
func (s *Store) Delete(ctx context.Context, id digest.Digest) ([]digest.Digest, error) {
	s.mu.Lock()
	rec := s.images[id]
	if rec == nil {
		s.mu.Unlock()
		return nil, errdefs.NotFoundf("No such image: %s", id)
	}
	for r, target := range s.refs {
		if target == id {
			delete(s.refs, r)
		}
	}
	delete(s.images, id)
	if err := s.saveRefs(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	used := s.usedLayers()
	var gone []*layerRec
	for i := len(rec.chain) - 1; i >= 0; i-- {
		c := rec.chain[i]
		if l := s.layers[c]; l != nil && !used[c] {
			gone = append(gone, l)
			delete(s.layers, c)
		}
	}
	parentsChanged := rec.parent != ""
	for _, other := range s.images {
		if other.parent == id {
			other.parent = ""
			parentsChanged = true
		}
	}
	s.mu.Unlock()

	// Config first: from here a crash leaves only unreferenced layers,
	// which the next open collects.
	var errs []error
	errs = append(errs, removeSynced(s.configPath(id)))
	if parentsChanged {
		s.mu.Lock()
		parents := map[digest.Digest]digest.Digest{}
		for i, r := range s.images {
			if r.parent != "" {
				parents[i] = r.parent
			}
		}
		errs = append(errs, writeJSONAtomic(s.parentPath(), parents))
		s.mu.Unlock()
	}
	var deleted []digest.Digest
	for _, l := range gone {
		errs = append(errs, removeSynced(s.layerPath(l.ChainID)))
		os.Remove(s.splitPath(l.ChainID))
		errs = append(errs, s.driver.Remove(ctx, l.CacheID))
		deleted = append(deleted, l.ChainID)
	}
	if len(gone) > 0 {
		s.gcBlobs(false)
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("image: deleting %s: %w", id, err)
	}
	return deleted, nil
}
