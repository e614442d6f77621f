package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"berth/internal/archive"
	"berth/internal/atomicfile"
	"berth/internal/errdefs"

	"github.com/klauspost/pgzip"
	"github.com/opencontainers/go-digest"
)

// Layer blobs keep the exact bytes each layer arrived as (compressed or
// not), so that push and save hand out a tar whose digest is the diff ID
// the image config names: a driver's Diff does not reproduce the original
// tar byte for byte, and a different tar would change the image ID.
//
//	blobs/sha256/<hex>            a blob, named by its digest
//	blobs/diffid/<diffhex>.json   diff ID -> the blob that holds it
//
// A blob is written to a temp file while the layer is applied and renamed
// into place only after the layer is stored; what a crash leaves is swept
// at open, and blobs whose diff ID no stored layer has are collected then.

// Media types of layer blobs, as the Docker schema2 manifest names them.
const (
	MediaTypeLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeLayerTar  = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// BlobInfo describes a kept layer blob.
type BlobInfo struct {
	DiffID    digest.Digest `json:"diff_id"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"media_type"`
	Size      int64         `json:"size"`
}

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.root, "blobs/sha256", d.Encoded())
}

func (s *Store) blobLinkPath(diffID digest.Digest) string {
	return filepath.Join(s.root, "blobs/diffid", diffID.Encoded()+".json")
}

// BlobSource is a layer stream backed by a file that holds exactly the
// stream's bytes, with digest d, once it has been read to its end (a
// download its owner verified). RegisterLayer links that file as the kept
// blob instead of copying the stream; the file must be on the data root's
// filesystem and must not change afterwards.
type BlobSource interface {
	io.Reader
	BlobFile() (path string, d digest.Digest)
}

// blobKeeper keeps the bytes of one layer registration.
type blobKeeper interface {
	io.Reader
	abort()
	commit(diffID digest.Digest) error
}

func (s *Store) newBlobKeeper(r io.Reader) (blobKeeper, error) {
	if bs, ok := r.(BlobSource); ok {
		return &blobLinker{s: s, src: bs}, nil
	}
	// A plain tar is not copied: its tar split gives it back byte for byte
	// (LayerTar), so LayerBlob compresses it from there when a push first
	// needs it. Only a compressed stream's exact bytes are worth keeping.
	br := bufio.NewReader(r)
	head, _ := br.Peek(8)
	if mediaTypeOf(head) == MediaTypeLayerTar {
		return plainKeeper{br}, nil
	}
	t, err := s.newBlobTee(br)
	if err != nil {
		return nil, err
	}
	return &teeKeeper{s: s, t: t}, nil
}

// plainKeeper keeps nothing.
type plainKeeper struct{ io.Reader }

func (plainKeeper) abort()                     {}
func (plainKeeper) commit(digest.Digest) error { return nil }

type teeKeeper struct {
	s *Store
	t *blobTee
}

func (k *teeKeeper) Read(p []byte) (int, error)        { return k.t.Read(p) }
func (k *teeKeeper) abort()                            { k.t.abort() }
func (k *teeKeeper) commit(diffID digest.Digest) error { return k.s.commitBlob(k.t, diffID) }

// blobLinker hashes nothing and copies nothing: the source file is the
// blob.
type blobLinker struct {
	s    *Store
	src  BlobSource
	head []byte
}

func (l *blobLinker) Read(p []byte) (int, error) {
	n, err := l.src.Read(p)
	if len(l.head) < 8 && n > 0 {
		l.head = append(l.head, p[:min(n, 8-len(l.head))]...)
	}
	return n, err
}

func (l *blobLinker) abort() {}

func (l *blobLinker) commit(diffID digest.Digest) error {
	s := l.s
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	if _, err := os.Stat(s.blobLinkPath(diffID)); err == nil {
		return nil
	}
	path, d := l.src.BlobFile()
	st, err := os.Stat(path)
	if err != nil {
		return errdefs.System(err)
	}
	info := BlobInfo{DiffID: diffID, Digest: d, Size: st.Size(), MediaType: mediaTypeOf(l.head)}
	if info.MediaType == "" {
		return nil
	}
	dst := s.blobPath(info.Digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return errdefs.System(err)
	}
	if err := os.Link(path, dst); err != nil && !os.IsExist(err) {
		// Another filesystem: copy instead.
		if err := copyFileAtomic(path, dst); err != nil {
			return err
		}
	}
	return s.linkBlob(info)
}

func mediaTypeOf(head []byte) string {
	switch archive.DetectCompression(head) {
	case archive.Gzip:
		return MediaTypeLayerGzip
	case archive.Zstd:
		return MediaTypeLayerZstd
	case archive.Uncompressed:
		return MediaTypeLayerTar
	}
	return "" // bzip2 and friends: no registry media type
}

// blobTee copies what a layer registration reads into a temp blob.
type blobTee struct {
	r    io.Reader
	f    *os.File
	h    hash.Hash
	n    int64
	head []byte
	err  error
}

func (s *Store) newBlobTee(r io.Reader) (*blobTee, error) {
	dir := filepath.Join(s.root, "blobs/sha256")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"blob-")
	if err != nil {
		return nil, errdefs.System(err)
	}
	return &blobTee{r: r, f: f, h: sha256.New()}, nil
}

func (t *blobTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && t.err == nil {
		if len(t.head) < 8 {
			t.head = append(t.head, p[:min(n, 8-len(t.head))]...)
		}
		t.h.Write(p[:n])
		t.n += int64(n)
		if _, werr := t.f.Write(p[:n]); werr != nil {
			t.err = werr
		}
	}
	return n, err
}

func (t *blobTee) abort() {
	t.f.Close()
	os.Remove(t.f.Name())
}

// commitBlob makes the blob durable and links it to diffID. A diff ID already linked keeps its blob.
func (s *Store) commitBlob(t *blobTee, diffID digest.Digest) error {
	defer t.abort() // after the rename this removes nothing
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	if t.err != nil {
		return errdefs.System(t.err)
	}
	if _, err := os.Stat(s.blobLinkPath(diffID)); err == nil {
		return nil
	}
	// No fsync: the layer itself is not synced either, and a blob a
	// machine crash tore is caught by its size in LayerBlob (and by the
	// registry's digest check on push).
	info := BlobInfo{DiffID: diffID, Digest: digest.NewDigest(digest.SHA256, t.h), Size: t.n, MediaType: mediaTypeOf(t.head)}
	if info.MediaType == "" {
		return nil
	}
	if err := os.Rename(t.f.Name(), s.blobPath(info.Digest)); err != nil {
		return errdefs.System(err)
	}
	return s.linkBlob(info)
}

func (s *Store) linkBlob(info BlobInfo) error {
	if err := os.MkdirAll(filepath.Dir(s.blobLinkPath(info.DiffID)), 0o700); err != nil {
		return errdefs.System(err)
	}
	return writeJSONAtomic(s.blobLinkPath(info.DiffID), info)
}

// LayerBlob returns the kept blob of the layer with diff ID diffID, gzip
// compressed: a blob kept uncompressed (an imported tar) is compressed
// once, deterministically, and kept so, so its digest is stable across
// pushes. errdefs.NotFound when no blob is kept for diffID.
func (s *Store) LayerBlob(ctx context.Context, diffID digest.Digest) (BlobInfo, error) {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	var info BlobInfo
	if err := readJSON(s.blobLinkPath(diffID), &info); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s.blobFromSplit(ctx, diffID)
		}
		return BlobInfo{}, errdefs.System(err)
	}
	if st, err := os.Stat(s.blobPath(info.Digest)); err != nil || st.Size() != info.Size {
		return BlobInfo{}, errdefs.NotFoundf("image: blob %s of layer %s is missing", info.Digest, diffID)
	}
	if info.MediaType != MediaTypeLayerTar {
		return info, nil
	}
	gz, err := s.compressBlob(ctx, info)
	if err != nil {
		return BlobInfo{}, err
	}
	if err := s.linkBlob(gz); err != nil {
		return BlobInfo{}, err
	}
	os.Remove(s.blobPath(info.Digest))
	return gz, nil
}

// blobFromSplit makes the gzip blob of a layer registered from a plain tar
// out of its reassembled tar, and keeps it. Callers hold blobMu.
func (s *Store) blobFromSplit(ctx context.Context, diffID digest.Digest) (BlobInfo, error) {
	var chain digest.Digest
	s.mu.Lock()
	for c, l := range s.layers {
		if l.DiffID == diffID {
			chain = c
			break
		}
	}
	s.mu.Unlock()
	if chain == "" {
		return BlobInfo{}, errdefs.NotFoundf("image: no blob kept for layer %s", diffID)
	}
	rc, _, err := s.LayerTar(ctx, chain)
	if err != nil {
		return BlobInfo{}, err
	}
	defer rc.Close()
	h := sha256.New()
	gz, err := s.compressStream(ctx, io.TeeReader(rc, h), diffID)
	if err != nil {
		return BlobInfo{}, err
	}
	if got := digest.NewDigest(digest.SHA256, h); got != diffID {
		os.Remove(s.blobPath(gz.Digest))
		return BlobInfo{}, errdefs.Systemf("image: layer %s reassembles to %s", diffID, got)
	}
	if err := s.linkBlob(gz); err != nil {
		return BlobInfo{}, err
	}
	return gz, nil
}

func (s *Store) compressBlob(ctx context.Context, info BlobInfo) (BlobInfo, error) {
	src, err := os.Open(s.blobPath(info.Digest))
	if err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	defer src.Close()
	return s.compressStream(ctx, src, info.DiffID)
}

// compressStream gzips src deterministically into a blob file.
func (s *Store) compressStream(ctx context.Context, src io.Reader, diffID digest.Digest) (BlobInfo, error) {
	dir := filepath.Join(s.root, "blobs/sha256")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"gz-")
	if err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	zw, _ := pgzip.NewWriterLevel(cw, pgzip.DefaultCompression)
	if _, err := io.Copy(zw, src); err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	if err := zw.Close(); err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	if err := f.Sync(); err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	out := BlobInfo{DiffID: diffID, Digest: digest.NewDigest(digest.SHA256, h), MediaType: MediaTypeLayerGzip, Size: cw.n}
	if err := os.Rename(f.Name(), s.blobPath(out.Digest)); err != nil {
		return BlobInfo{}, errdefs.System(err)
	}
	return out, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// OpenBlob opens a kept blob by its digest.
func (s *Store) OpenBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	if err := d.Validate(); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.NotFoundf("image: blob %s not found", d)
	}
	if err != nil {
		return nil, errdefs.System(err)
	}
	return f, nil
}

// gcBlobs removes temp blobs, links whose diff ID no stored layer has, and
// blobs no link names; temp blobs only at open, when no registration runs.
// Callers must not hold mu.
func (s *Store) gcBlobs(atOpen bool) {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	s.mu.Lock()
	diffs := map[string]bool{}
	for _, l := range s.layers {
		diffs[l.DiffID.Encoded()] = true
	}
	s.mu.Unlock()
	keep := map[string]bool{}
	linkDir := filepath.Join(s.root, "blobs/diffid")
	ents, _ := os.ReadDir(linkDir)
	for _, e := range ents {
		p := filepath.Join(linkDir, e.Name())
		name := e.Name()
		var info BlobInfo
		if isTemp(name) || filepath.Ext(name) != ".json" || !diffs[name[:len(name)-5]] || readJSON(p, &info) != nil {
			os.Remove(p)
			continue
		}
		keep[info.Digest.Encoded()] = true
	}
	blobDir := filepath.Join(s.root, "blobs/sha256")
	ents, _ = os.ReadDir(blobDir)
	for _, e := range ents {
		if isTemp(e.Name()) && !atOpen {
			continue
		}
		if !keep[e.Name()] {
			os.Remove(filepath.Join(blobDir, e.Name()))
		}
	}
}

// RawConfig returns the config JSON of image refOrID exactly as stored (its
// digest is the image ID) and the image ID.
func (s *Store) RawConfig(ctx context.Context, refOrID string) ([]byte, digest.Digest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.resolve(refOrID)
	if err != nil {
		return nil, "", err
	}
	return append([]byte(nil), s.images[id].raw...), id, nil
}

func copyFileAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return errdefs.System(err)
	}
	defer in.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), atomicfile.TempPrefix+"copy-")
	if err != nil {
		return errdefs.System(err)
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	if _, err := io.Copy(f, in); err != nil {
		return errdefs.System(err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return errdefs.System(err)
	}
	return nil
}
