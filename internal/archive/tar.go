package archive

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TarOptions tune Tar.
type TarOptions struct {
	// Whiteouts says how root records deletions: WhiteoutOverlay turns 0/0
	// character devices and opaque directories back into OCI .wh. entries.
	Whiteouts WhiteoutFormat
	// Parent, when set, is a trusted directory root is a modified copy of:
	// only entries that differ from it are archived, and entries it has
	// that root lacks become .wh. whiteouts. This is how a copy-based
	// driver produces a layer diff.
	Parent string
}

// Tar streams an uncompressed tar of the trusted directory root. Symlinks
// are archived, never followed; files sharing an inode become hardlinks.
// Errors surface from the reader's Read.
func Tar(ctx context.Context, root string, opts TarOptions) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeTar(ctx, root, opts, pw))
	}()
	return pr
}

type inode struct{ dev, ino uint64 }

func writeTar(ctx context.Context, root string, opts TarOptions, w io.Writer) error {
	tw := tar.NewWriter(w)
	links := map[inode]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if st == nil {
			return nil
		}
		if opts.Parent != "" && sameAsParent(p, filepath.Join(opts.Parent, rel), fi, st) {
			return nil
		}
		if opts.Whiteouts == WhiteoutOverlay && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			dir, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		var link string
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := links[key]; ok {
				link = first
			} else {
				links[key] = rel
			}
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if fi.Mode().IsRegular() && link != "" && link != rel {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, link, 0
		}
		addXattrs(p, hdr)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.IsDir() && opts.Whiteouts == WhiteoutOverlay {
			if v, err := lgetxattr(p, opaqueXattr); err == nil && string(v) == "y" {
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: hdr.Name + opaqueMarker, ModTime: fi.ModTime(), Format: tar.FormatPAX}); err != nil {
					return err
				}
			}
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, hdr.Size)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if opts.Parent != "" {
		if err := writeDeletions(ctx, root, opts.Parent, tw); err != nil {
			return err
		}
	}
	return tw.Close()
}

// sameAsParent reports whether the entry at parentPath is what fi/st
// describe, by the metadata a copy preserves. Content is not compared:
// a copy-based writable layer changes size or mtime when it is written.
func sameAsParent(path, parentPath string, fi fs.FileInfo, st *syscall.Stat_t) bool {
	var pst unix.Stat_t
	if err := unix.Lstat(parentPath, &pst); err != nil {
		return false
	}
	if pst.Mode != st.Mode || pst.Uid != st.Uid || pst.Gid != st.Gid || uint64(pst.Rdev) != uint64(st.Rdev) {
		return false
	}
	if fi.IsDir() {
		return true
	}
	if pst.Size != st.Size || pst.Mtim.Sec != st.Mtim.Sec || pst.Mtim.Nsec != st.Mtim.Nsec {
		return false
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		a, err1 := os.Readlink(parentPath)
		b, err2 := os.Readlink(path)
		return err1 == nil && err2 == nil && a == b
	}
	return true
}

// writeDeletions emits a whiteout for each entry of parent missing in root,
// not descending below a deleted directory.
func writeDeletions(ctx context.Context, root, parent string, tw *tar.Writer) error {
	return filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(parent, p)
		if err != nil || rel == "." {
			return err
		}
		if _, err := os.Lstat(filepath.Join(root, rel)); err == nil {
			return nil
		}
		dir, base := filepath.Split(rel)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
}

func addXattrs(p string, hdr *tar.Header) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz <= 0 {
		return
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		v, err := lgetxattr(p, name)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxXattrPrefix+name] = string(v)
	}
}

func lgetxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		if err == unix.ERANGE {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
