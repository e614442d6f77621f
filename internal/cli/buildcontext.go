package cli

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// extraFile is a Dockerfile added to the context under its own name.
type extraFile struct {
	name string
	data []byte
}

// readDockerignore reads <Dockerfile>.dockerignore, else .dockerignore.
func readDockerignore(dir, dfName string) ([]string, error) {
	for _, name := range []string{dfName + ".dockerignore", ".dockerignore"} {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ignorefile.ReadAll(f)
	}
	return nil, nil
}

// writeContextTar tars dir without the excluded paths; the Dockerfile and
// .dockerignore always go, since the daemon reads them.
func writeContextTar(w io.Writer, dir string, excludes []string, dfName string, extra *extraFile) error {
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return err
	}
	keep := map[string]bool{dfName: true, ".dockerignore": true, dfName + ".dockerignore": true}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if len(excludes) > 0 && !keep[rel] {
			matched, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if matched {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				if !d.IsDir() {
					return nil
				}
			}
		}
		return addContextEntry(tw, p, rel)
	})
	if err != nil {
		return err
	}
	if extra != nil {
		hdr := &tar.Header{Name: extra.name, Mode: 0o600, Size: int64(len(extra.data)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, bytes.NewReader(extra.data)); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addContextEntry(tw *tar.Writer, p, rel string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() && link == "" {
		return nil // sockets, devices, fifos
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	// As Docker's CLI: the daemon sees the context as root's.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if fi.Mode().IsRegular() {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	}
	return nil
}
