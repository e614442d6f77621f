package builder

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/sys/user"

	"berth/internal/errdefs"
	"berth/internal/safepath"
)

// ownership is what COPY gives every entry it writes.
type ownership struct {
	uid, gid int
	mode     *uint32 // --chmod
}

// tarSource is one source with its target path (relative to the rootfs).
type tarSource struct {
	host   string
	inline *instructions.SourceContent
	target string
	dir    bool // copy the directory's contents into target
}

// writeTar writes the sources as a tar whose names are rootfs paths.
func writeTar(w io.Writer, srcs []tarSource, own ownership) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	for _, s := range srcs {
		if s.inline != nil {
			hdr := &tar.Header{Name: s.target, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(s.inline.Data)), ModTime: now}
			own.apply(hdr)
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, s.inline.Data); err != nil {
				return err
			}
			continue
		}
		err := filepath.WalkDir(s.host, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(s.host, p)
			name := s.target
			if s.dir {
				if rel == "." {
					return nil // the destination directory itself exists already
				}
				name = path.Join(s.target, filepath.ToSlash(rel))
			}
			return addEntry(tw, p, name, own)
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

func addEntry(tw *tar.Writer, hostPath, name string, own ownership) error {
	fi, err := os.Lstat(hostPath)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(hostPath); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	own.apply(hdr)
	if !fi.Mode().IsRegular() && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeSymlink {
		return nil // devices, sockets and fifos do not belong in a build
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if fi.Mode().IsRegular() {
		f, err := os.Open(hostPath)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return err
		}
	}
	return nil
}

func (o ownership) apply(hdr *tar.Header) {
	hdr.Uid, hdr.Gid = o.uid, o.gid
	if o.mode != nil && hdr.Typeflag != tar.TypeSymlink {
		hdr.Mode = int64(*o.mode)
	}
}

// resolveChown turns --chown's user[:group] into IDs, looking names up in
// the destination's own /etc/passwd and /etc/group.
func resolveChown(rr *safepath.Root, spec string) (int, int, error) {
	if spec == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	uid, gid := -1, -1
	if n, err := strconv.Atoi(u); err == nil {
		uid, gid = n, n
	} else {
		users, err := readUsers(rr, func(e user.User) bool { return e.Name == u })
		if err != nil || len(users) == 0 {
			return 0, 0, errdefs.InvalidParameterf("unable to convert uid/gid chown string to host mapping: can't find uid for user %s: no such user: %s", u, u)
		}
		uid, gid = users[0].Uid, users[0].Gid
	}
	if hasGroup {
		if n, err := strconv.Atoi(g); err == nil {
			gid = n
		} else {
			groups, err := readGroups(rr, func(e user.Group) bool { return e.Name == g })
			if err != nil || len(groups) == 0 {
				return 0, 0, errdefs.InvalidParameterf("unable to convert uid/gid chown string to host mapping: can't find gid for group %s: no such group: %s", g, g)
			}
			gid = groups[0].Gid
		}
	}
	return uid, gid, nil
}

func readUsers(rr *safepath.Root, filter func(user.User) bool) ([]user.User, error) {
	f, err := rr.Open("etc/passwd")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return user.ParsePasswdFilter(f, filter)
}

func readGroups(rr *safepath.Root, filter func(user.Group) bool) ([]user.Group, error) {
	f, err := rr.Open("etc/group")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return user.ParseGroupFilter(f, filter)
}

// mkdirIn creates the absolute path dir inside the trusted rootfs root.
func mkdirIn(root, dir string) error {
	rr, err := safepath.OpenRoot(root)
	if err != nil {
		return errdefs.System(err)
	}
	defer rr.Close()
	d, err := rr.MkdirAll(safepath.Clean(dir), 0o755)
	if err != nil {
		return err
	}
	return d.Close()
}

// download fetches an ADD URL into the build's temp dir; the file is named
// after the URL's last path element, as Docker names it.
func (b *build) download(rawURL string) (source, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return source{}, errdefs.InvalidParameterf("ADD failed: invalid URL %s: %v", rawURL, err)
	}
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return source{}, errdefs.InvalidParameter(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return source{}, errdefs.InvalidParameterf("ADD failed: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return source{}, errdefs.InvalidParameterf("ADD failed: failed to GET %s with status %s", rawURL, resp.Status)
	}
	dir, err := os.MkdirTemp(filepath.Dir(b.bc.dir), "url-")
	if err != nil {
		return source{}, errdefs.System(err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "index.html"
	}
	p := filepath.Join(dir, "file")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return source{}, errdefs.System(err)
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return source{}, errdefs.System(fmt.Errorf("ADD failed: reading %s: %w", rawURL, err))
	}
	return source{host: p, name: name, remote: true}, nil
}
