package distribution

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
	"berth/internal/image"
)

// download is one blob being fetched into a temp file. Readers follow the
// file as it grows, so a layer is unpacked while its bytes arrive; the
// bytes are verified (digest and size, by the library's verifying reader)
// before a reader sees EOF, so an unpacker never finishes on bad data.
type download struct {
	path string
	size int64

	mu      sync.Mutex
	cond    *sync.Cond
	written int64
	done    bool
	err     error
	refs    int // pulls using it; the file goes with the last
	cancel  context.CancelFunc
}

// downloads is the table of blobs in flight, shared by concurrent pulls.
type downloads struct {
	mu  sync.Mutex
	dir string
	m   map[digest.Digest]*download
	sem chan struct{}
}

func newDownloads(dir string, parallel int) *downloads {
	return &downloads{dir: dir, m: map[digest.Digest]*download{}, sem: make(chan struct{}, parallel)}
}

// start joins the download of layer l or begins it. onBytes reports the
// progress of a download this call started (joiners see none). The caller
// must call release once done with it.
func (ds *downloads) start(ctx context.Context, d digest.Digest, l v1.Layer, size int64, rep func(string, int64)) (*download, error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if dl := ds.m[d]; dl != nil {
		dl.mu.Lock()
		dl.refs++
		dl.mu.Unlock()
		return dl, nil
	}
	if err := os.MkdirAll(ds.dir, 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	f, err := os.CreateTemp(ds.dir, "blob-")
	if err != nil {
		return nil, errdefs.System(err)
	}
	// The download belongs to every pull sharing it: it is cancelled only
	// when the last one lets go.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	dl := &download{path: f.Name(), size: size, refs: 1, cancel: cancel}
	dl.cond = sync.NewCond(&dl.mu)
	ds.m[d] = dl
	go ds.run(dctx, d, dl, f, l, rep)
	return dl, nil
}

func (ds *downloads) run(ctx context.Context, d digest.Digest, dl *download, f *os.File, l v1.Layer, rep func(string, int64)) {
	err := func() error {
		select {
		case ds.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-ds.sem }()
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		buf := make([]byte, 256<<10)
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n, rerr := rc.Read(buf)
			if n > 0 {
				if _, werr := f.Write(buf[:n]); werr != nil {
					return errdefs.System(werr)
				}
				dl.mu.Lock()
				dl.written += int64(n)
				w := dl.written
				dl.cond.Broadcast()
				dl.mu.Unlock()
				rep("Downloading", w)
			}
			if rerr == io.EOF {
				return nil
			}
			if rerr != nil {
				return rerr
			}
		}
	}()
	f.Close()
	dl.mu.Lock()
	dl.done, dl.err = true, err
	dl.cond.Broadcast()
	dl.mu.Unlock()
	if err == nil {
		rep("Verifying Checksum", -1)
		rep("Download complete", -1)
	}
	ds.mu.Lock()
	if ds.m[d] == dl {
		delete(ds.m, d) // later pulls start afresh; holders keep the file
	}
	ds.mu.Unlock()
}

// release drops one holder; the last removes the file, cancelling the
// download if it still runs.
func (ds *downloads) release(dl *download) {
	dl.mu.Lock()
	dl.refs--
	last := dl.refs == 0
	dl.mu.Unlock()
	if last {
		dl.cancel()
		ds.mu.Lock()
		for d, x := range ds.m {
			if x == dl {
				delete(ds.m, d)
			}
		}
		ds.mu.Unlock()
		go func() {
			dl.wait()
			os.Remove(dl.path)
		}()
	}
}

func (dl *download) wait() error {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	for !dl.done {
		dl.cond.Wait()
	}
	return dl.err
}

// waitFor is wait bounded by d; it returns nil if the download is still
// running then.
func (dl *download) waitFor(d time.Duration) error {
	ch := make(chan error, 1)
	go func() { ch <- dl.wait() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		return nil
	}
}

// reader follows the file as it grows. ctx ends the wait for more bytes.
func (dl *download) reader(ctx context.Context) (io.ReadCloser, error) {
	f, err := os.Open(dl.path)
	if err != nil {
		return nil, errdefs.System(err)
	}
	stop := context.AfterFunc(ctx, func() {
		dl.mu.Lock()
		dl.cond.Broadcast()
		dl.mu.Unlock()
	})
	return &followReader{ctx: ctx, dl: dl, f: f, stop: stop}, nil
}

type followReader struct {
	ctx  context.Context
	dl   *download
	f    *os.File
	off  int64
	stop func() bool
}

func (r *followReader) Read(p []byte) (int, error) {
	dl := r.dl
	dl.mu.Lock()
	for r.off >= dl.written && !dl.done && r.ctx.Err() == nil {
		dl.cond.Wait()
	}
	avail, done, derr := dl.written-r.off, dl.done, dl.err
	dl.mu.Unlock()
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if avail <= 0 {
		if done && derr != nil {
			return 0, derr
		}
		return 0, io.EOF
	}
	if int64(len(p)) > avail {
		p = p[:avail]
	}
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

func (r *followReader) Close() error {
	r.stop()
	return r.f.Close()
}

// registrations shares a layer registration (by chain ID) between pulls.
// The store's hold on a layer is kept until the last pull sharing it has
// created its image.
type registrations struct {
	mu sync.Mutex
	m  map[digest.Digest]*registration
}

type registration struct {
	done    chan struct{}
	layer   image.Layer
	err     error
	refs    int
	release func()
}

// do runs fn for chain unless another pull is running it, then waits for
// that one. The returned func drops this caller's share.
func (rs *registrations) do(chain digest.Digest, fn func() (image.Layer, func(), error)) (image.Layer, func(), error) {
	rs.mu.Lock()
	if r := rs.m[chain]; r != nil {
		r.refs++
		rs.mu.Unlock()
		<-r.done
		return r.layer, rs.dropper(chain, r), r.err
	}
	r := &registration{done: make(chan struct{}), refs: 1}
	rs.m[chain] = r
	rs.mu.Unlock()
	r.layer, r.release, r.err = fn()
	close(r.done)
	return r.layer, rs.dropper(chain, r), r.err
}

func (rs *registrations) dropper(chain digest.Digest, r *registration) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			rs.mu.Lock()
			defer rs.mu.Unlock()
			r.refs--
			if r.refs == 0 {
				if rs.m[chain] == r {
					delete(rs.m, chain)
				}
				if r.release != nil {
					r.release()
				}
			}
		})
	}
}
