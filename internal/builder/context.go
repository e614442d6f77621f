package builder

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"berth/internal/archive"
	"berth/internal/errdefs"
	"berth/internal/safepath"
)

// buildContext is an extracted build context.
type buildContext struct {
	dir        string // trusted: the temp dir the context was extracted to
	root       *safepath.Root
	dockerfile []byte
}

func (c *buildContext) close() {
	if c.root != nil {
		c.root.Close()
	}
}

// openContext extracts the body into dir/context: a tar (plain or
// compressed), or, when the body is no archive, the Dockerfile itself (as
// `docker build - < Dockerfile` sends it). It reads the Dockerfile and then
// drops what .dockerignore excludes.
func openContext(ctx context.Context, dir string, r io.Reader, dfName string) (*buildContext, error) {
	cdir := filepath.Join(dir, "context")
	if err := os.Mkdir(cdir, 0o755); err != nil {
		return nil, errdefs.System(err)
	}
	if dfName == "" {
		dfName = "Dockerfile"
	}
	br := bufio.NewReaderSize(r, 64*1024)
	head, _ := br.Peek(512)
	if len(head) == 0 || isArchive(head) {
		if len(head) > 0 {
			if _, err := archive.Apply(ctx, cdir, br, archive.ApplyOptions{}); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, errdefs.InvalidParameterf("failed to extract the build context: %v", err)
			}
		}
	} else {
		data, err := io.ReadAll(io.LimitReader(br, 16<<20))
		if err != nil {
			return nil, errdefs.InvalidParameterf("reading the Dockerfile: %v", err)
		}
		dfName = "Dockerfile"
		if err := os.WriteFile(filepath.Join(cdir, dfName), data, 0o644); err != nil {
			return nil, errdefs.System(err)
		}
	}
	root, err := safepath.OpenRoot(cdir)
	if err != nil {
		return nil, errdefs.System(err)
	}
	bc := &buildContext{dir: cdir, root: root}
	bc.dockerfile, err = readContextFile(root, dfName)
	if errors.Is(err, fs.ErrNotExist) && dfName == "Dockerfile" {
		bc.dockerfile, err = readContextFile(root, "dockerfile")
	}
	if err != nil {
		bc.close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errdefs.InvalidParameterf("Cannot locate specified Dockerfile: %s", dfName)
		}
		return nil, errdefs.InvalidParameterf("Cannot read Dockerfile %s: %v", dfName, err)
	}
	if err := bc.applyIgnore(dfName); err != nil {
		bc.close()
		return nil, err
	}
	return bc, nil
}

func isArchive(head []byte) bool {
	if archive.DetectCompression(head) != archive.Uncompressed {
		return true
	}
	return len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar"))
}

func readContextFile(root *safepath.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fs.ErrNotExist
	}
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// ignorePatterns reads <Dockerfile>.dockerignore, else .dockerignore.
func ignorePatterns(root *safepath.Root, dfName string) ([]string, error) {
	for _, name := range []string{dfName + ".dockerignore", ".dockerignore"} {
		data, err := readContextFile(root, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, errdefs.InvalidParameterf("reading %s: %v", name, err)
		}
		pats, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, errdefs.InvalidParameterf("parsing %s: %v", name, err)
		}
		return pats, nil
	}
	return nil, nil
}

// applyIgnore removes the excluded paths from the extracted context, so
// no instruction can see them.
func (c *buildContext) applyIgnore(dfName string) error {
	pats, err := ignorePatterns(c.root, path.Clean("/" + dfName)[1:])
	if err != nil || len(pats) == 0 {
		return err
	}
	pm, err := patternmatcher.New(pats)
	if err != nil {
		return errdefs.InvalidParameterf("invalid .dockerignore pattern: %v", err)
	}
	var dirs []string // matched directories kept for their exceptions
	err = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		if rel == "." {
			return nil
		}
		matched, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil || !matched {
			return err
		}
		if d.IsDir() {
			if pm.Exclusions() {
				dirs = append(dirs, p)
				return nil
			}
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			return filepath.SkipDir
		}
		return os.Remove(p)
	})
	if err != nil {
		return errdefs.System(err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		os.Remove(d) // only when nothing re-included stayed inside
	}
	return nil
}
