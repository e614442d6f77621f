package builder

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/safepath"
)

// copyRequest is a COPY or ADD after expansion.
type copyRequest struct {
	cmd          string // "COPY" or "ADD"
	sd           instructions.SourcesAndDest
	from         string
	chown, chmod string
	text         string
	add          bool
}

// source is one resolved source: a path on the host inside a trusted
// tree (the extracted context or a mounted image), or inline content.
type source struct {
	host   string // "" for inline content
	name   string // base name the destination gets
	isDir  bool
	remote bool // fetched by ADD from a URL: never extracted
	inline *instructions.SourceContent
}

func (b *build) copyErr(r copyRequest, format string, a ...any) error {
	return errdefs.InvalidParameterf("%s failed: %s", r.cmd, fmt.Sprintf(format, a...))
}

func (b *build) copy(st *stageState, r copyRequest) error {
	srcRoot, release, srcKey, err := b.copySourceRoot(st, r)
	if err != nil {
		return err
	}
	defer release()
	srcs, err := b.resolveSources(r, srcRoot)
	if err != nil {
		return err
	}
	dest := r.sd.DestPath
	if !path.IsAbs(dest) {
		wd := st.cfg.WorkingDir
		if wd == "" {
			wd = "/"
		}
		dest = path.Join(wd, dest) + map[bool]string{true: "/"}[strings.HasSuffix(r.sd.DestPath, "/")]
	}
	destIsDir := strings.HasSuffix(dest, "/") || strings.HasSuffix(r.sd.DestPath, "/.") || r.sd.DestPath == "."
	if len(srcs) > 1 && !destIsDir {
		return errdefs.InvalidParameterf("When using %s with more than one source file, the destination must be a directory and end with a /", r.cmd)
	}
	var mode *uint32
	if r.chmod != "" {
		var m uint32
		if _, err := fmt.Sscanf(r.chmod, "%o", &m); err != nil || m > 0o7777 {
			return errdefs.InvalidParameterf("invalid chmod parameter: %s", r.chmod)
		}
		mode = &m
	}
	sum, kind, err := checksumSources(srcs)
	if err != nil {
		return err
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s:%s in %s ", r.cmd, kind, sum, dest)
	key := b.cacheKey(st, createdBy, fmt.Sprintf("%s chown=%s chmod=%s from=%s", sum, r.chown, r.chmod, srcKey))
	if b.useCache(st, key) {
		return nil
	}
	img, err := b.withRootfs(st, createdBy, func(root string) error {
		return b.writeSources(root, srcs, dest, destIsDir, r, mode)
	})
	if err != nil {
		return err
	}
	return b.stepDone(st, img, key)
}

// copySourceRoot is the tree sources are read from: the context, or the
// mounted rootfs of a stage or image for --from.
func (b *build) copySourceRoot(st *stageState, r copyRequest) (root string, release func(), key string, err error) {
	if r.from == "" {
		return b.bc.dir, func() {}, "", nil
	}
	var ref string
	if j, ok := b.plan.stageRef(r.from, st.index); ok {
		ref = b.stages[j].imageID.String()
		if ref == "" {
			dir, err := os.MkdirTemp(filepath.Dir(b.bc.dir), "scratch-")
			if err != nil {
				return "", nil, "", errdefs.System(err)
			}
			return dir, func() { os.RemoveAll(dir) }, "scratch", nil
		}
	} else {
		img, err := b.bd.b.Image(b.ctx, r.from)
		if err != nil {
			return "", nil, "", err
		}
		ref = img.ID.String()
	}
	id, err := b.bd.b.CreateContainer(b.ctx, b.stepConfig(st, ref, []string{"/bin/sh", "-c", "#(nop) COPY --from"}, nil), b.hostConfig())
	if err != nil {
		return "", nil, "", err
	}
	mnt, err := b.bd.b.MountContainer(b.ctx, id)
	if err != nil {
		b.removeContainer(id)
		return "", nil, "", err
	}
	return mnt, func() {
		b.bd.b.UnmountContainer(context.WithoutCancel(b.ctx), id)
		b.removeContainer(id)
	}, ref, nil
}

// resolveSources resolves each source inside root; a source that leaves
// the context is refused with Docker's wording.
func (b *build) resolveSources(r copyRequest, root string) ([]source, error) {
	var out []source
	for i := range r.sd.SourceContents {
		c := r.sd.SourceContents[i]
		out = append(out, source{name: path.Base(c.Path), inline: &c})
	}
	sr, err := safepath.OpenRoot(root)
	if err != nil {
		return nil, errdefs.System(err)
	}
	defer sr.Close()
	for _, unsafeSrc := range r.sd.SourcePaths {
		if r.add && (strings.HasPrefix(unsafeSrc, "http://") || strings.HasPrefix(unsafeSrc, "https://")) {
			s, err := b.download(unsafeSrc)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		clean := path.Clean(unsafeSrc)
		if r.from == "" && (clean == ".." || strings.HasPrefix(clean, "../")) {
			return nil, b.copyErr(r, "forbidden path outside the build context: %s ()", unsafeSrc)
		}
		rel := safepath.Clean(unsafeSrc)
		if hasWildcard(rel) {
			matches, err := globIn(root, rel)
			if err != nil {
				return nil, err
			}
			if len(matches) == 0 {
				return nil, b.copyErr(r, "no source files were specified")
			}
			for _, m := range matches {
				s, err := statSource(sr, m)
				if err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			continue
		}
		s, err := statSource(sr, rel)
		if errors.Is(err, fs.ErrNotExist) {
			if r.from != "" {
				return nil, b.copyErr(r, "stat %s: file does not exist", unsafeSrc)
			}
			return nil, b.copyErr(r, "file not found in build context or excluded by .dockerignore: stat %s: file does not exist", unsafeSrc)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, b.copyErr(r, "no source files were specified")
	}
	return out, nil
}

// statSource resolves rel (following symlinks, inside the root) to a host
// path.
func statSource(sr *safepath.Root, rel string) (source, error) {
	f, err := sr.Open(rel)
	if err != nil {
		return source{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return source{}, errdefs.System(err)
	}
	host, err := sr.Resolve(rel)
	if err != nil {
		return source{}, err
	}
	name := path.Base(rel)
	if rel == "." || rel == "" {
		name = "."
	}
	return source{host: host, name: name, isDir: st.IsDir()}, nil
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

// globIn matches pattern against every path of the trusted tree root,
// without following symlinks.
func globIn(root, pattern string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if ok, _ := path.Match(pattern, filepath.ToSlash(rel)); ok {
			out = append(out, filepath.ToSlash(rel))
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, errdefs.System(err)
	}
	sort.Strings(out)
	return out, nil
}

// checksumSources hashes the sources' names, modes, owners, link targets
// and contents: mtimes are left out, so a touched file keeps the cache and
// a changed one of the same size does not.
func checksumSources(srcs []source) (sum, kind string, err error) {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "source %s\n", s.name)
		if s.inline != nil {
			fmt.Fprintf(h, "inline %d\n%s", len(s.inline.Data), s.inline.Data)
			continue
		}
		if err := hashTree(h, s.host); err != nil {
			return "", "", err
		}
	}
	kind = "file"
	if len(srcs) > 1 {
		kind = "multi"
	} else if srcs[0].isDir {
		kind = "dir"
	}
	return hex.EncodeToString(h.Sum(nil)), kind, nil
}

func hashTree(h hash.Hash, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errdefs.System(err)
		}
		fi, err := d.Info()
		if err != nil {
			return errdefs.System(err)
		}
		rel, _ := filepath.Rel(root, p)
		// Owners are left out too: COPY sets them (0:0 or --chown).
		fmt.Fprintf(h, "%s %o %d\n", rel, fi.Mode(), fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %s\n", target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return errdefs.System(err)
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return errdefs.System(err)
			}
		}
		return nil
	})
}

// writeSources writes the sources into the mounted rootfs root as one tar
// applied through archive (so through safepath).
func (b *build) writeSources(root string, srcs []source, dest string, destIsDir bool, r copyRequest, mode *uint32) error {
	rr, err := safepath.OpenRoot(root)
	if err != nil {
		return errdefs.System(err)
	}
	defer rr.Close()
	uid, gid, err := resolveChown(rr, r.chown)
	if err != nil {
		return err
	}
	destRel := safepath.Clean(dest)
	if existing, err := rr.Open(destRel); err == nil {
		if st, err := existing.Stat(); err == nil && st.IsDir() {
			destIsDir = true
		}
		existing.Close()
	}
	own := ownership{uid: uid, gid: gid, mode: mode}
	var tarSrcs []tarSource
	for _, s := range srcs {
		switch {
		case s.inline != nil:
			target := destRel
			if destIsDir {
				target = path.Join(destRel, s.name)
			}
			tarSrcs = append(tarSrcs, tarSource{inline: s.inline, target: target})
		case s.isDir:
			tarSrcs = append(tarSrcs, tarSource{host: s.host, target: destRel, dir: true})
		case r.add && !s.remote && isLocalArchive(s.host):
			if err := extractInto(b.ctx, rr, destRel, s.host); err != nil {
				return err
			}
		default:
			target := destRel
			if destIsDir {
				target = path.Join(destRel, s.name)
			}
			tarSrcs = append(tarSrcs, tarSource{host: s.host, target: target})
		}
	}
	if len(tarSrcs) == 0 {
		return nil
	}
	if destIsDir {
		if d, err := rr.MkdirAll(destRel, 0o755); err == nil {
			d.Close()
		} else {
			return err
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, tarSrcs, own)) }()
	_, err = archive.Apply(b.ctx, root, pr, archive.ApplyOptions{})
	pr.Close()
	if err != nil {
		return fmt.Errorf("%s failed: %w", r.cmd, err)
	}
	return nil
}

// isLocalArchive reports whether ADD should extract the file: a tar,
// plain or compressed.
func isLocalArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if archive.DetectCompression(head) != archive.Uncompressed {
		f.Seek(0, io.SeekStart)
		dr, err := archive.DecompressStream(f)
		if err != nil {
			return false
		}
		defer dr.Close()
		_, err = tar.NewReader(dr).Next()
		return err == nil
	}
	return isArchive(head)
}

// extractInto unpacks a local tar into dest inside the rootfs.
func extractInto(ctx context.Context, rr *safepath.Root, dest, host string) error {
	d, err := rr.MkdirAll(dest, 0o755)
	if err != nil {
		return err
	}
	d.Close()
	target, err := rr.Resolve(dest)
	if err != nil {
		return err
	}
	f, err := os.Open(host)
	if err != nil {
		return errdefs.System(err)
	}
	defer f.Close()
	_, err = archive.Apply(ctx, target, f, archive.ApplyOptions{})
	return err
}
