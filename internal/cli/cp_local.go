package cli

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"berth/internal/archive"
)

// copyInfo describes one end of a copy, as Docker's CLI reasons about it.
type copyInfo struct {
	path   string
	exists bool
	isDir  bool
	base   string // the name the archive's entries start with
}

// sourceInfo resolves a local source: symlinks before the last component
// always, the last one too with follow (-L).
func sourceInfo(p string, follow bool) (copyInfo, error) {
	var resolved, rebase string
	if follow {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return copyInfo{}, err
		}
		resolved, rebase = rebaseName(p, r)
	} else {
		dir, base := filepath.Split(p)
		rd, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return copyInfo{}, err
		}
		resolved = keepTrailing(filepath.Join(rd, base), p)
		if strings.HasSuffix(p, "/") && filepath.Base(p) != filepath.Base(resolved) {
			rebase = filepath.Base(p)
		}
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		return copyInfo{}, err
	}
	_, base := splitDirEntry(resolved)
	if rebase != "" {
		base = rebase
	}
	return copyInfo{path: resolved, exists: true, isDir: fi.IsDir(), base: base}, nil
}

// prepareCopy decides where the archive of src is extracted so that it
// lands at dst, and which leading name its entries must take instead
// (rebaseFrom → rebaseTo; empty when none).
func prepareCopy(src, dst copyInfo) (dir, rebaseFrom, rebaseTo string, err error) {
	dstDir, dstBase := splitDirEntry(dst.path)
	switch {
	case dst.exists && dst.isDir:
		return dst.path, "", "", nil
	case dst.exists && src.isDir:
		return "", "", "", errors.New("cannot copy directory")
	case dst.exists, src.isDir:
		return dstDir, src.base, dstBase, nil
	case strings.HasSuffix(dst.path, "/"):
		return "", "", "", errors.New("no such directory")
	}
	return dstDir, src.base, dstBase, nil
}

// tarLocal archives the local source, entries named from src.base, with
// their owners (the daemon decides who owns them in the container).
func tarLocal(ctx context.Context, src copyInfo) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		root := strings.TrimSuffix(strings.TrimSuffix(src.path, "/."), "/")
		if root == "" {
			root = "/"
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			// "dir/." archives as "./", "./f": the names a rebase of
			// "." renames.
			name := src.base
			if rel != "." {
				name = src.base + "/" + filepath.ToSlash(rel)
			}
			return tarLocalEntry(tw, p, name, d)
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

func tarLocalEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	// As Docker's CLI: PAX, whole-second times, no names looked up.
	hdr.Format = tar.FormatPAX
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Uname, hdr.Gname = "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(tw, f, hdr.Size)
	return err
}

// rebaseTar renames the entries under oldBase to newBase.
func rebaseTar(r io.Reader, oldBase, newBase string) io.Reader {
	return archive.MapTar(r, func(hdr *tar.Header) error {
		rebaseHeader(hdr, oldBase, newBase)
		return nil
	})
}

func rebaseHeader(hdr *tar.Header, oldBase, newBase string) {
	if oldBase == "/" {
		oldBase = ""
	}
	hdr.Name = rebasePath(hdr.Name, oldBase, newBase)
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname = rebasePath(hdr.Linkname, oldBase, newBase)
	}
}

// checkBreakout refuses a relative symlink whose target climbs out of the
// extraction directory, as Docker's CLI does (extraction is confined anyway;
// this keeps the user from a link that leads out).
func checkBreakout(hdr *tar.Header, dir string) error {
	if hdr.Typeflag != tar.TypeSymlink || filepath.IsAbs(hdr.Linkname) {
		return nil
	}
	at := filepath.Join(dir, hdr.Name)
	target := filepath.Join(filepath.Dir(at), hdr.Linkname)
	if rel, err := filepath.Rel(dir, target); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("invalid symlink %q -> %q", at, hdr.Linkname)
	}
	return nil
}

func rebasePath(name, oldBase, newBase string) string {
	if name == oldBase || strings.HasPrefix(name, oldBase+"/") {
		return newBase + name[len(oldBase):]
	}
	return name
}

// extractLocal unpacks a container's archive at the local dstPath, with
// Docker's rules for where it lands. Extraction goes through safepath, so
// an archive cannot write outside the destination directory.
func extractLocal(ctx context.Context, content io.Reader, src copyInfo, dstPath string) error {
	if err := checkOutputDir(dstPath); err != nil {
		return err
	}
	dst, err := destinationInfo(dstPath)
	if err != nil {
		return err
	}
	dir, from, to, err := prepareCopy(src, dst)
	if err != nil {
		return err
	}
	// One pass renames the entries and refuses escaping links.
	content = archive.MapTar(content, func(hdr *tar.Header) error {
		if from != "" {
			rebaseHeader(hdr, from, to)
		}
		return checkBreakout(hdr, dir)
	})
	_, err = archive.Apply(ctx, dir, content, archive.ApplyOptions{NoChown: os.Geteuid() != 0})
	return err
}

// destinationInfo follows a local destination's symlinks (its last
// component included: the copy goes to the target).
func destinationInfo(p string) (copyInfo, error) {
	for n := 0; ; n++ {
		fi, err := os.Lstat(p)
		if err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return copyInfo{path: p, exists: true, isDir: fi.IsDir()}, nil
		}
		if err != nil {
			if !os.IsNotExist(err) {
				return copyInfo{}, err
			}
			parent, _ := splitDirEntry(p)
			pfi, err := os.Stat(parent)
			if err != nil {
				return copyInfo{}, err
			}
			if !pfi.IsDir() {
				return copyInfo{}, errors.New("not a directory")
			}
			return copyInfo{path: p}, nil
		}
		if n >= 10 {
			return copyInfo{}, errors.New("too many symlinks in " + p)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return copyInfo{}, err
		}
		if !filepath.IsAbs(target) {
			parent, _ := splitDirEntry(p)
			target = filepath.Join(parent, target)
		}
		p = target
	}
}

func checkOutputDir(p string) error {
	if dir := filepath.Dir(filepath.Clean(p)); dir != "" && dir != "." {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			return fmt.Errorf("invalid output path: directory %q does not exist", dir)
		}
	}
	return nil
}

// writeFileAtomic writes r to p through a temporary file in the same
// directory, so a failed transfer leaves no partial file behind.
func writeFileAtomic(p string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".berth-export-")
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), p)
}
