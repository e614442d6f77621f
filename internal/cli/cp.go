package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/moby/moby/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"
)

type cpOptions struct {
	followLink bool
	copyUIDGID bool
	quiet      bool
}

func newCpCommand(c *berthCLI) *cobra.Command {
	var opts cpOptions
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
	berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
		Short: "Copy files/folders between a container and the local filesystem",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			if !cmd.Flag("quiet").Changed {
				// Progress only on a terminal, as Docker.
				f, ok := c.out.(*os.File)
				opts.quiet = !ok || !term.IsTerminal(f.Fd())
			}
			return runCp(cmd.Context(), c, &opts, args[0], args[1])
		},
		DisableFlagsInUseLine: true,
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.followLink, "follow-link", "L", false, "Always follow symlinks in SRC_PATH")
	f.BoolVarP(&opts.copyUIDGID, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return withAliasGroup(cmd, "cp")
}

func runCp(ctx context.Context, c *berthCLI, opts *cpOptions, src, dst string) error {
	srcCtr, srcPath := splitCpArg(src)
	dstCtr, dstPath := splitCpArg(dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errors.New("copying between containers is not supported")
	case srcCtr != "":
		return copyFromContainer(ctx, c, opts, srcCtr, srcPath, dstPath)
	case dstCtr != "":
		return copyToContainer(ctx, c, opts, srcPath, dstCtr, dstPath)
	}
	return errors.New("must specify at least one container source")
}

// splitCpArg splits CONTAINER:PATH; a local path with a colon must start
// with "/" or "." to be read as local, as in Docker.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}

func localAbs(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return keepTrailing(abs, p), nil
}

// keepTrailing re-adds the "/." or "/" that filepath.Clean took off.
func keepTrailing(cleaned, orig string) string {
	switch {
	case strings.HasSuffix(orig, "/.") && !strings.HasSuffix(cleaned, "/."):
		if cleaned == "/" {
			return "/."
		}
		return cleaned + "/."
	case strings.HasSuffix(orig, "/") && !strings.HasSuffix(cleaned, "/"):
		return cleaned + "/"
	}
	return cleaned
}

// splitDirEntry is the parent and last component of p, "." for "dir/.".
func splitDirEntry(p string) (string, string) {
	c := filepath.Clean(p)
	if filepath.Base(p) == "." {
		c += "/."
	}
	return filepath.Dir(c), filepath.Base(c)
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	atomic.AddInt64(r.n, int64(n))
	return n, err
}

func copyFromContainer(ctx context.Context, c *berthCLI, opts *cpOptions, ctr, srcPath, dstPath string) error {
	if dstPath != "-" {
		var err error
		if dstPath, err = localAbs(dstPath); err != nil {
			return err
		}
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	var rebase string
	if opts.followLink {
		st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: srcPath})
		if err == nil && st.Stat.Mode&os.ModeSymlink != 0 {
			target := st.Stat.LinkTarget
			if !filepath.IsAbs(target) {
				parent, _ := splitDirEntry(srcPath)
				target = filepath.Join(parent, target)
			}
			target, rebase = rebaseName(srcPath, target)
			srcPath = target
		}
	}
	res, err := api.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: srcPath})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	if dstPath == "-" {
		_, err := io.Copy(c.out, res.Content)
		return err
	}
	var copied int64
	var content io.Reader = countingReader{r: res.Content, n: &copied}
	_, srcBase := splitDirEntry(srcPath)
	if rebase != "" {
		content = rebaseTar(content, srcBase, rebase)
		srcBase = rebase
	}
	src := copyInfo{path: srcPath, exists: true, isDir: res.Stat.Mode.IsDir(), base: srcBase}
	if err := extractLocal(ctx, content, src, dstPath); err != nil {
		return err
	}
	if !opts.quiet {
		fmt.Fprintf(c.err, "Successfully copied %s to %s\n", humanSize(copied), dstPath)
	}
	return nil
}

func copyToContainer(ctx context.Context, c *berthCLI, opts *cpOptions, srcPath, ctr, dstPath string) error {
	if srcPath != "-" {
		var err error
		if srcPath, err = localAbs(srcPath); err != nil {
			return err
		}
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	dst := copyInfo{path: dstPath}
	if st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dstPath}); err == nil {
		if st.Stat.Mode&os.ModeSymlink != 0 {
			target := st.Stat.LinkTarget
			if !filepath.IsAbs(target) {
				parent, _ := splitDirEntry(dstPath)
				target = filepath.Join(parent, target)
			}
			dst.path = target
			st, err = api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: target})
		}
		if err == nil {
			if m := st.Stat.Mode; !m.IsDir() && !m.IsRegular() {
				return fmt.Errorf("destination \"%s:%s\" must be a directory or a regular file: %w", ctr, dstPath, fmt.Errorf("got %s", m))
			}
			dst.exists, dst.isDir = true, st.Stat.Mode.IsDir()
		}
	}
	var content io.Reader
	var extractTo string
	var copied int64
	if srcPath == "-" {
		if !dst.isDir {
			return fmt.Errorf("destination \"%s:%s\" must be a directory", ctr, dstPath)
		}
		content, extractTo = c.in, dst.path
	} else {
		src, err := sourceInfo(srcPath, opts.followLink)
		if err != nil {
			return err
		}
		dir, rebaseFrom, rebaseTo, err := prepareCopy(src, dst)
		if err != nil {
			return err
		}
		tr := tarLocal(ctx, src)
		defer tr.Close()
		content = tr
		if rebaseFrom != "" {
			content = rebaseTar(tr, rebaseFrom, rebaseTo)
		}
		content = countingReader{r: content, n: &copied}
		extractTo = dir
	}
	if _, err := api.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{
		DestinationPath: extractTo, Content: content, CopyUIDGID: opts.copyUIDGID,
	}); err != nil {
		return err
	}
	if !opts.quiet && srcPath != "-" {
		fmt.Fprintf(c.err, "Successfully copied %s to %s\n", humanSize(copied), ctr+":"+dst.path)
	}
	return nil
}

// rebaseName keeps the name the user asked for when following a link
// changed the last component (and its trailing "/" or "/.").
func rebaseName(p, resolved string) (string, string) {
	resolved = keepTrailing(resolved, p)
	if filepath.Base(p) != filepath.Base(resolved) {
		return resolved, filepath.Base(p)
	}
	return resolved, ""
}
