package archive

import (
	"archive/tar"
	"io"
)

// MapTar passes a tar stream through fn, header by header; an error from
// fn ends the stream with it. Closing the reader early unblocks the copy.
func MapTar(r io.Reader, fn func(*tar.Header) error) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		tr, tw := tar.NewReader(r), tar.NewWriter(pw)
		var err error
		for {
			var hdr *tar.Header
			if hdr, err = tr.Next(); err != nil {
				break
			}
			if err = fn(hdr); err != nil {
				break
			}
			if err = tw.WriteHeader(hdr); err != nil {
				break
			}
			if _, err = io.Copy(tw, tr); err != nil {
				break
			}
		}
		if err == io.EOF {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
