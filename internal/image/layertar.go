package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/safepath"
	"berth/internal/storage"

	"github.com/opencontainers/go-digest"
)

// A layer's split (see archive.SplitRecorder) lives beside the store's
// metadata, in tarsplit/<chain hex>.gz, written before the layer's record
// so a visible layer always has one (unless its tar could not be split).

func (s *Store) splitDir() string { return filepath.Join(s.root, "tarsplit") }

func (s *Store) splitPath(chain digest.Digest) string {
	return filepath.Join(s.splitDir(), chain.Encoded()+".gz")
}

// pendingSplit records one registration's split into a temp file.
type pendingSplit struct {
	f   *os.File
	rec *archive.SplitRecorder
	err error
}

// newSplit starts a split; failures only cost byte-exactness later, so
// they are kept, not returned.
func (s *Store) newSplit() *pendingSplit {
	p := &pendingSplit{}
	if err := os.MkdirAll(s.splitDir(), 0o700); err != nil {
		p.err = err
		return p
	}
	f, err := os.CreateTemp(s.splitDir(), ".tmp-split-")
	if err != nil {
		p.err = err
		return p
	}
	p.f = f
	p.rec = archive.NewSplitRecorder(f)
	return p
}

func (p *pendingSplit) Write(b []byte) (int, error) {
	if p.rec == nil {
		return len(b), nil
	}
	return p.rec.Write(b)
}

// finish ends recording; it reports whether the split is usable.
func (p *pendingSplit) finish() bool {
	if p.rec == nil {
		return false
	}
	if err := p.rec.Close(); err != nil && p.err == nil {
		p.err = err
	}
	if p.err == nil {
		p.err = p.f.Sync()
	}
	if err := p.f.Close(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err == nil
}

// discard drops the temp file.
func (p *pendingSplit) discard() {
	if p.f != nil {
		if p.rec != nil {
			p.rec.Close()
		}
		p.f.Close()
		os.Remove(p.f.Name())
	}
}

// commit publishes the split as the split of chain.
func (p *pendingSplit) commit(ctx context.Context, s *Store, chain digest.Digest) {
	if !p.finish() {
		if p.f != nil {
			os.Remove(p.f.Name())
		}
		slog.Default().WarnContext(ctx, "layer tar not split; saving it will not be byte-exact", "layer", chain, "error", p.err)
		return
	}
	if err := os.Rename(p.f.Name(), s.splitPath(chain)); err != nil {
		os.Remove(p.f.Name())
		return
	}
	syncDir(s.splitDir())
}

// removeSplits drops splits of layers the store no longer has, and temp
// files a crash left. Callers hold mu or own the store exclusively.
func (s *Store) removeSplits() {
	ents, err := os.ReadDir(s.splitDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".gz")
		if !ok || s.layers[digest.NewDigestFromEncoded(digest.SHA256, hex)] == nil {
			os.Remove(filepath.Join(s.splitDir(), e.Name()))
		}
	}
}

// LayerTar streams the uncompressed tar of the layer chain as it was
// registered, byte for byte when its split is stored (so its digest is the
// layer's diff ID); otherwise a fresh tar from the driver. Size is the
// tar's length, or -1 when unknown in advance.
func (s *Store) LayerTar(ctx context.Context, chain digest.Digest) (io.ReadCloser, int64, error) {
	s.mu.Lock()
	l := s.layers[chain]
	s.mu.Unlock()
	if l == nil {
		return nil, 0, errdefs.NotFoundf("image: layer %s not found", chain)
	}
	dp, ok := s.driver.(storage.DiffPather)
	f, err := os.Open(s.splitPath(chain))
	if err != nil || !ok {
		if err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, errdefs.System(err)
		}
		rc, err := s.driver.Diff(ctx, l.CacheID)
		return rc, -1, err
	}
	split, err := archive.ReadSplit(f)
	f.Close()
	if err != nil {
		return nil, 0, err
	}
	dir, err := dp.DiffPath(l.CacheID)
	if err != nil {
		return nil, 0, err
	}
	root, err := safepath.OpenRoot(dir)
	if err != nil {
		return nil, 0, errdefs.System(err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer root.Close()
		err := split.Reassemble(ctx, pw, func(name string) (io.ReadCloser, error) {
			return root.Open(name)
		})
		pw.CloseWithError(err)
	}()
	return pr, split.Size(), nil
}

// LayerChain returns the layers of image id, base first.
func (s *Store) LayerChain(ctx context.Context, id digest.Digest) ([]Layer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.images[id]
	if img == nil {
		return nil, errdefs.NotFoundf("No such image: %s", id)
	}
	out := make([]Layer, 0, len(img.chain))
	for _, c := range img.chain {
		l := s.layers[c]
		if l == nil {
			return nil, errdefs.Systemf("image: layer %s of %s is missing", c, id)
		}
		out = append(out, l.public())
	}
	return out, nil
}

// LayerMetadata is the storage driver's description of the layer chain
// (GraphDriver.Data in inspect), empty when the driver has none.
func (s *Store) LayerMetadata(ctx context.Context, chain digest.Digest) map[string]string {
	s.mu.Lock()
	l := s.layers[chain]
	s.mu.Unlock()
	mr, ok := s.driver.(storage.MetadataReporter)
	if l == nil || !ok {
		return nil
	}
	m, err := mr.Metadata(l.CacheID)
	if err != nil {
		return nil
	}
	return m
}

// DiscardLayers removes those of chains that no image, container or
// pending registration uses: what a failed load registered.
func (s *Store) DiscardLayers(ctx context.Context, chains []digest.Digest) error {
	s.mu.Lock()
	used := s.usedLayers()
	var gone []*layerRec
	for i := len(chains) - 1; i >= 0; i-- {
		if l := s.layers[chains[i]]; l != nil && !used[chains[i]] {
			gone = append(gone, l)
			delete(s.layers, chains[i])
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range gone {
		errs = append(errs, removeSynced(s.layerPath(l.ChainID)))
		os.Remove(s.splitPath(l.ChainID))
		errs = append(errs, s.driver.Remove(ctx, l.CacheID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("image: discarding layers: %w", err)
	}
	return nil
}

// ChainID is the chain ID of diffID on the layer with chain ID parent
// ("" for a base layer), as Docker computes it.
func ChainID(parent, diffID digest.Digest) digest.Digest { return chainID(parent, diffID) }

// TempDir makes a scratch directory on the store's filesystem (for
// spooling an archive being loaded); the caller removes it. Leftovers of a
// crash are removed at the next open.
func (s *Store) TempDir(pattern string) (string, error) {
	dir := filepath.Join(s.root, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", errdefs.System(err)
	}
	d, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", errdefs.System(err)
	}
	return d, nil
}
