package image

import (
	"berth/internal/atomicfile"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"berth/internal/errdefs"
	"berth/internal/storage"
	"berth/internal/storage/overlay"
	"berth/internal/storage/vfs"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
)

// Image is a snapshot of one image, safe to read without locks.
type Image struct {
	ID          digest.Digest // sha256 of the config JSON, as Docker
	Config      dockerspec.DockerOCIImage
	RepoTags    []string // familiar form, e.g. "busybox:latest"
	RepoDigests []string // familiar form, e.g. "busybox@sha256:..."
	Size        int64    // sum of layer sizes
	Parent      digest.Digest
}

type imageRec struct {
	id     digest.Digest
	raw    []byte
	chain  []digest.Digest // chain IDs, base first
	parent digest.Digest
}

type layerRec struct {
	ChainID digest.Digest `json:"chain_id"`
	DiffID  digest.Digest `json:"diff_id"`
	Parent  digest.Digest `json:"parent,omitempty"`
	CacheID string        `json:"cache_id"`
	Size    int64         `json:"size"`

	holds int // registrations not yet referenced by an image
}

type mountRec struct {
	ContainerID string        `json:"container_id"`
	ImageID     digest.Digest `json:"image_id"`
	TopLayer    digest.Digest `json:"top_layer,omitempty"` // chain ID the layer sits on
}

// Store is the image store. It is safe for concurrent use.
type Store struct {
	root   string
	driver storage.Driver

	mu     sync.Mutex
	images map[digest.Digest]*imageRec
	layers map[digest.Digest]*layerRec
	refs   map[string]digest.Digest // normalised reference string -> image
	mounts map[string]*mountRec

	// mountMu serialises read-write layer life cycles; those are short
	// syscalls, kept off mu so listing never waits on a mount.
	mountMu sync.Mutex
	// blobMu serialises linking and collecting kept layer blobs (blobs.go).
	blobMu sync.Mutex
}

// New opens the store under dataRoot, creating it as needed. driverName ""
// picks the driver already holding data, else overlay2 when usable, else
// vfs; "overlay2" (or "overlay") and "vfs" force one.
func New(ctx context.Context, dataRoot, driverName string) (*Store, error) {
	root := filepath.Join(dataRoot, "image")
	for _, d := range []string{"configs/sha256", "layers/sha256", "mounts"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, errdefs.System(err)
		}
	}
	drv, err := openDriver(ctx, filepath.Join(dataRoot, "storage"), driverName)
	if err != nil {
		return nil, err
	}
	s := &Store{
		root:   root,
		driver: drv,
		images: map[digest.Digest]*imageRec{},
		layers: map[digest.Digest]*layerRec{},
		refs:   map[string]digest.Digest{},
		mounts: map[string]*mountRec{},
	}
	if err := s.load(ctx); err != nil {
		drv.Close()
		return nil, err
	}
	return s, nil
}

func openDriver(ctx context.Context, home, name string) (storage.Driver, error) {
	switch name {
	case "overlay2", "overlay":
		return overlay.New(ctx, filepath.Join(home, overlay.Name))
	case "vfs":
		return vfs.New(ctx, filepath.Join(home, vfs.Name))
	case "":
		if hasData(filepath.Join(home, vfs.Name)) && !hasData(filepath.Join(home, overlay.Name)) {
			return vfs.New(ctx, filepath.Join(home, vfs.Name))
		}
		if err := overlay.Supported(filepath.Join(home, overlay.Name)); err == nil {
			return overlay.New(ctx, filepath.Join(home, overlay.Name))
		} else {
			slog.Default().InfoContext(ctx, "overlay2 unavailable, using vfs", "error", err)
		}
		return vfs.New(ctx, filepath.Join(home, vfs.Name))
	}
	return nil, errdefs.InvalidParameterf("unsupported storage driver: %s", name)
}

func hasData(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name() != "l" && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// DriverName is the storage driver's name as `docker info` shows it.
func (s *Store) DriverName() string { return s.driver.Name() }

// Close releases the driver. Mounts stay: containers may still be running.
func (s *Store) Close() error { return s.driver.Close() }

// load reads the metadata and removes what a crash left half-done.
func (s *Store) load(ctx context.Context) error {
	log := slog.Default()
	layerDir := filepath.Join(s.root, "layers/sha256")
	ents, err := os.ReadDir(layerDir)
	if err != nil {
		return errdefs.System(err)
	}
	for _, e := range ents {
		p := filepath.Join(layerDir, e.Name())
		if isTemp(e.Name()) {
			os.Remove(p)
			continue
		}
		var l layerRec
		if err := readJSON(p, &l); err != nil || l.ChainID.Validate() != nil || l.ChainID.Encoded()+".json" != e.Name() || !s.driver.Exists(l.CacheID) {
			log.WarnContext(ctx, "discarding broken layer record", "path", p, "error", err)
			os.Remove(p)
			continue
		}
		s.layers[l.ChainID] = &l
	}
	cfgDir := filepath.Join(s.root, "configs/sha256")
	ents, err = os.ReadDir(cfgDir)
	if err != nil {
		return errdefs.System(err)
	}
	for _, e := range ents {
		p := filepath.Join(cfgDir, e.Name())
		if isTemp(e.Name()) {
			os.Remove(p)
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return errdefs.System(err)
		}
		rec, err := s.parseImage(raw)
		if err == nil && rec.id.Encoded() != e.Name() {
			err = fmt.Errorf("content does not match its digest")
		}
		if err == nil {
			for _, c := range rec.chain {
				if s.layers[c] == nil {
					err = fmt.Errorf("layer %s is missing", c)
					break
				}
			}
		}
		if err != nil {
			log.WarnContext(ctx, "discarding broken image config", "path", p, "error", err)
			os.Remove(p)
			continue
		}
		s.images[rec.id] = rec
	}
	if err := s.loadParents(); err != nil {
		return err
	}
	var refs map[string]digest.Digest
	if err := readJSON(filepath.Join(s.root, "repositories.json"), &refs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errdefs.System(fmt.Errorf("image: reading references: %w", err))
	}
	for r, id := range refs {
		if s.images[id] != nil {
			s.refs[r] = id
		}
	}
	mdir := filepath.Join(s.root, "mounts")
	ents, err = os.ReadDir(mdir)
	if err != nil {
		return errdefs.System(err)
	}
	for _, e := range ents {
		p := filepath.Join(mdir, e.Name())
		var m mountRec
		if isTemp(e.Name()) || readJSON(p, &m) != nil || m.ContainerID+".json" != e.Name() || !s.driver.Exists(m.ContainerID) {
			os.Remove(p)
			continue
		}
		s.mounts[m.ContainerID] = &m
	}
	s.removeOrphans(ctx)
	s.gcBlobs(true)
	return nil
}

// removeOrphans drops layers no image or container uses, and driver layers
// nothing names.
func (s *Store) removeOrphans(ctx context.Context) {
	used := s.usedLayers()
	for c, l := range s.layers {
		if !used[c] {
			os.Remove(s.layerPath(c))
			delete(s.layers, c)
			_ = l
		}
	}
	known := map[string]bool{}
	for _, l := range s.layers {
		known[l.CacheID] = true
	}
	for id := range s.mounts {
		known[id] = true
	}
	s.removeSplits()
	os.RemoveAll(filepath.Join(s.root, "tmp"))
	ids, err := s.driver.Layers(ctx)
	if err != nil {
		return
	}
	for _, id := range ids {
		if !known[id] {
			if err := s.driver.Remove(ctx, id); err != nil {
				slog.Default().WarnContext(ctx, "removing orphaned layer", "layer", id, "error", err)
			}
		}
	}
}

// usedLayers is every chain ID an image, a container or a pending
// registration needs. Callers hold mu.
func (s *Store) usedLayers() map[digest.Digest]bool {
	used := map[digest.Digest]bool{}
	for _, img := range s.images {
		for _, c := range img.chain {
			used[c] = true
		}
	}
	mark := func(c digest.Digest) {
		for c != "" && !used[c] {
			used[c] = true
			l := s.layers[c]
			if l == nil {
				return
			}
			c = l.Parent
		}
	}
	for _, m := range s.mounts {
		mark(m.TopLayer)
	}
	for c, l := range s.layers {
		if l.holds > 0 {
			mark(c)
		}
	}
	return used
}

func (s *Store) parseImage(raw []byte) (*imageRec, error) {
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image config: %w", err))
	}
	rec := &imageRec{id: digest.FromBytes(raw), raw: raw}
	var chain digest.Digest
	for _, d := range cfg.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid diff ID %q: %w", d, err))
		}
		chain = chainID(chain, d)
		rec.chain = append(rec.chain, chain)
	}
	return rec, nil
}

func chainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

func (s *Store) layerPath(chain digest.Digest) string {
	return filepath.Join(s.root, "layers/sha256", chain.Encoded()+".json")
}

func (s *Store) configPath(id digest.Digest) string {
	return filepath.Join(s.root, "configs/sha256", id.Encoded())
}

func (s *Store) parentPath() string { return filepath.Join(s.root, "parents.json") }

func (s *Store) loadParents() error {
	var parents map[digest.Digest]digest.Digest
	if err := readJSON(s.parentPath(), &parents); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errdefs.System(err)
	}
	for id, p := range parents {
		if img := s.images[id]; img != nil {
			img.parent = p
		}
	}
	return nil
}

// snapshot builds the public view of an image. Callers hold mu.
func (s *Store) snapshot(rec *imageRec) *Image {
	img := &Image{ID: rec.id, Parent: rec.parent}
	json.Unmarshal(rec.raw, &img.Config)
	for _, c := range rec.chain {
		if l := s.layers[c]; l != nil {
			img.Size += l.Size
		}
	}
	img.RepoTags, img.RepoDigests = s.refsOf(rec.id)
	return img
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func isTemp(name string) bool { return atomicfile.IsTemp(name) }

// writeFileAtomic is atomicfile.Write with the store's error class.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return errdefs.System(fmt.Errorf("image: writing %s: %w", path, err))
	}
	return nil
}

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return errdefs.System(err)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errdefs.System(err)
	}
	return writeFileAtomic(path, b)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// removeSynced removes path and syncs its directory.
func removeSynced(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errdefs.System(err)
	}
	return syncDir(filepath.Dir(path))
}
