package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"berth/internal/errdefs"
)

// A layer's identity is the digest of its tar exactly as it arrived, but an
// extracted layer forgets the tar's framing (header encodings, padding,
// entry order, trailing blocks). A split keeps that framing: the raw bytes
// of the stream minus the contents of regular files, which are read back
// from the extracted tree when the tar is needed again (save, push). With
// it a layer round-trips byte for byte, so image IDs survive save/load.
//
// The split is a gzip'd stream of JSON records, one per line:
//
//	{"h":"<base64 raw bytes>"}            framing bytes, copied as is
//	{"f":"<entry name>","n":<size>}       n content bytes of regular file f
//	{"end":true,"size":<total>}           the last record: the tar's length

type splitRecord struct {
	Raw  []byte `json:"h,omitempty"`
	File string `json:"f,omitempty"`
	N    int64  `json:"n,omitempty"`
	End  bool   `json:"end,omitempty"`
	Size int64  `json:"size,omitempty"`
}

// SplitRecorder is an io.WriteCloser that is fed a layer tar (uncompressed)
// and writes its split to w. Close returns any error met parsing the tar;
// the recorder never blocks its writer on a malformed stream: it keeps
// draining.
type SplitRecorder struct {
	pw   *io.PipeWriter
	done chan error
}

// NewSplitRecorder starts recording into w.
func NewSplitRecorder(w io.Writer) *SplitRecorder {
	pr, pw := io.Pipe()
	s := &SplitRecorder{pw: pw, done: make(chan error, 1)}
	go func() {
		err := recordSplit(pr, w)
		// Drain so the writer never blocks, whatever happened.
		io.Copy(io.Discard, pr)
		s.done <- err
	}()
	return s
}

func (s *SplitRecorder) Write(p []byte) (int, error) { return s.pw.Write(p) }

// Close ends the stream and waits for the split to be complete.
func (s *SplitRecorder) Close() error {
	s.pw.Close()
	return <-s.done
}

// capturingReader passes reads through, keeping the bytes while capture is
// on and only counting them while it is off.
type capturingReader struct {
	r       io.Reader
	capture bool
	buf     bytes.Buffer
	total   int64
}

func (c *capturingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.capture {
		c.buf.Write(p[:n])
	}
	c.total += int64(n)
	return n, err
}

func recordSplit(r io.Reader, w io.Writer) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	cr := &capturingReader{r: r, capture: true}
	flush := func() error {
		if cr.buf.Len() == 0 {
			return nil
		}
		err := enc.Encode(splitRecord{Raw: cr.buf.Bytes()})
		cr.buf.Reset()
		return err
	}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive: split: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
			continue // any data stays in the captured framing
		}
		if _, sparse := hdr.PAXRecords["GNU.sparse.map"]; sparse {
			return errors.New("archive: split: sparse files are not supported")
		}
		if err := flush(); err != nil {
			return err
		}
		cr.capture = false
		n, err := io.Copy(io.Discard, tr)
		cr.capture = true
		if err != nil {
			return fmt.Errorf("archive: split: %w", err)
		}
		if err := enc.Encode(splitRecord{File: hdr.Name, N: n}); err != nil {
			return err
		}
	}
	// End-of-archive blocks and whatever trails them.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if err := enc.Encode(splitRecord{End: true, Size: cr.total}); err != nil {
		return err
	}
	return zw.Close()
}

// Split is a parsed split, ready to reassemble.
type Split struct {
	recs []splitRecord
	size int64
}

// ReadSplit parses a split written by a SplitRecorder.
func ReadSplit(r io.Reader) (*Split, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, errdefs.System(fmt.Errorf("archive: reading split: %w", err))
	}
	defer zr.Close()
	dec := json.NewDecoder(bufio.NewReader(zr))
	s := &Split{}
	for {
		var rec splitRecord
		if err := dec.Decode(&rec); err != nil {
			return nil, errdefs.System(fmt.Errorf("archive: reading split: %w", err))
		}
		if rec.End {
			s.size = rec.Size
			return s, nil
		}
		s.recs = append(s.recs, rec)
	}
}

// Size is the length of the reassembled tar.
func (s *Split) Size() int64 { return s.size }

// Reassemble writes the original tar to w, reading file contents with open
// (an entry name as the tar had it; the callee resolves it safely).
func (s *Split) Reassemble(ctx context.Context, w io.Writer, open func(name string) (io.ReadCloser, error)) error {
	for _, rec := range s.recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rec.File == "" {
			if _, err := w.Write(rec.Raw); err != nil {
				return err
			}
			continue
		}
		f, err := open(rec.File)
		if err != nil {
			return fmt.Errorf("archive: reassembling %s: %w", rec.File, err)
		}
		n, err := io.Copy(w, io.LimitReader(f, rec.N))
		f.Close()
		if err != nil {
			return err
		}
		if n != rec.N {
			return errdefs.Systemf("archive: reassembling %s: file is %d bytes, the layer had %d", rec.File, n, rec.N)
		}
	}
	return nil
}
