package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"io"

	"berth/internal/errdefs"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is a stream compression format.
type Compression int

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
	Bzip2
	Xz
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Bzip2:
		return "bzip2"
	case Xz:
		return "xz"
	}
	return "uncompressed"
}

// DetectCompression names the format the stream starting with head uses.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(head, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	}
	return Uncompressed
}

// DecompressStream returns r decompressed according to its magic bytes.
// Closing the result releases decoder resources, not r.
func DecompressStream(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	switch DetectCompression(head) {
	case Gzip:
		zr, err := pgzip.NewReader(br)
		if err != nil {
			return nil, errdefs.InvalidParameter(err)
		}
		return zr, nil
	case Zstd:
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, errdefs.InvalidParameter(err)
		}
		return zr.IOReadCloser(), nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), nil
	case Xz:
		return nil, errdefs.InvalidParameterf("xz compressed archives are not supported")
	}
	return io.NopCloser(br), nil
}
