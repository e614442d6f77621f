package distribution

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
)

// blobFetch opens a blob from offset on (a Range request). It reports
// whether the body starts at offset; a registry that ignores Range sends
// the whole blob.
type blobFetch func(ctx context.Context, offset int64) (body io.ReadCloser, ranged bool, err error)

// resumeAttempts bounds how often a download cut short is resumed.
const resumeAttempts = 4

// blobFetcher GETs blob d (size bytes, 0 if unknown) of one repository
// with an authorised client. A Range a registry refuses (416) falls back
// to the whole blob.
func blobFetcher(client *http.Client, base string, d digest.Digest, size int64) blobFetch {
	get := func(ctx context.Context, rng string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/blobs/"+d.String(), nil)
		if err != nil {
			return nil, errdefs.System(err)
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		return client.Do(req)
	}
	return func(ctx context.Context, offset int64) (io.ReadCloser, bool, error) {
		rng := ""
		if offset > 0 {
			rng = "bytes=" + strconv.FormatInt(offset, 10) + "-"
			if size > offset {
				rng += strconv.FormatInt(size-1, 10)
			}
		}
		resp, err := get(ctx, rng)
		if err == nil && rng != "" && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			resp.Body.Close()
			resp, err = get(ctx, "")
		}
		if err != nil {
			return nil, false, err
		}
		if err := transport.CheckError(resp, http.StatusOK, http.StatusPartialContent); err != nil {
			resp.Body.Close()
			return nil, false, err
		}
		return resp.Body, resp.StatusCode == http.StatusPartialContent, nil
	}
}

// fill downloads blob d into f, resuming with Range requests when the
// connection breaks, and verifies size and digest before it returns nil.
func (dl *download) fill(ctx context.Context, d digest.Digest, f *os.File, fetch blobFetch, rep func(string, int64)) error {
	h := sha256.New()
	var lastErr error
	for attempt := 0; attempt < resumeAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		dl.mu.Lock()
		off := dl.written
		dl.mu.Unlock()
		body, ranged, err := fetch(ctx, off)
		if err == nil {
			if !ranged && off > 0 {
				_, err = io.CopyN(io.Discard, body, off)
			}
			if err == nil {
				err = dl.copyIn(ctx, f, h, body, rep)
			}
			body.Close()
		}
		if err == nil {
			return dl.verify(d, h)
		}
		if ctx.Err() != nil || !retryable(err) {
			return err
		}
		lastErr = err
	}
	return lastErr
}

func (dl *download) copyIn(ctx context.Context, f *os.File, h hash.Hash, body io.Reader, rep func(string, int64)) error {
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return errdefs.System(err)
			}
			h.Write(buf[:n])
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
}

func (dl *download) verify(d digest.Digest, h hash.Hash) error {
	dl.mu.Lock()
	n := dl.written
	dl.mu.Unlock()
	if dl.size > 0 && n != dl.size {
		return errdefs.InvalidParameter(fmt.Errorf("blob %s: got %d bytes, the manifest says %d", d, n, dl.size))
	}
	if got := digest.NewDigest(digest.SHA256, h); got != d {
		return errdefs.InvalidParameter(fmt.Errorf("digest mismatch: got %s, want %s", got, d))
	}
	return nil
}

// retryable tells a broken transfer (resumed) from a registry's answer.
func retryable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || isNetErr(err) || errors.Is(err, io.EOF)
}
