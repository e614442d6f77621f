package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"
)

type buildOptions struct {
	tags, buildArgs, labels, cacheFrom, addHosts, ulimits []string
	file, target, iidfile, network                        string
	quiet, noCache, pull, rm, forceRm                     bool
	shmSize                                               memBytes
}

func newBuildCommand(c *berthCLI) *cobra.Command {
	var opts buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd.Context(), c, args[0], &opts)
		},
	}
	f := cmd.Flags()
	listVarP(f, &opts.tags, "tag", "t", `Name and optionally a tag in the "name:tag" format`)
	f.StringVarP(&opts.file, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	listVar(f, &opts.buildArgs, "build-arg", "Set build-time variables")
	f.StringVar(&opts.target, "target", "", "Set the target build stage to build.")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringVar(&opts.iidfile, "iidfile", "", "Write the image ID to the file")
	f.BoolVar(&opts.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&opts.pull, "pull", false, "Always attempt to pull a newer version of the image")
	listVar(f, &opts.labels, "label", "Set metadata for an image")
	listVar(f, &opts.cacheFrom, "cache-from", "Images to consider as cache sources")
	f.StringVar(&opts.network, "network", "default", "Set the networking mode for the RUN instructions during build")
	listVar(f, &opts.addHosts, "add-host", "Add a custom host-to-IP mapping (host:ip)")
	f.Var(&opts.shmSize, "shm-size", "Size of /dev/shm")
	listVar(f, &opts.ulimits, "ulimit", "Ulimit options")
	f.BoolVar(&opts.rm, "rm", true, "Remove intermediate containers after a successful build")
	f.BoolVar(&opts.forceRm, "force-rm", false, "Always remove intermediate containers")
	return withAliasGroup(cmd, "build")
}

func (o *buildOptions) apiOptions() (client.ImageBuildOptions, error) {
	out := client.ImageBuildOptions{
		Tags: o.tags, SuppressOutput: o.quiet, NoCache: o.noCache, PullParent: o.pull,
		Remove: o.rm, ForceRemove: o.forceRm, Target: o.target, CacheFrom: o.cacheFrom,
		NetworkMode: o.network, ExtraHosts: o.addHosts, ShmSize: int64(o.shmSize),
		BuildArgs: map[string]*string{}, Labels: map[string]string{},
	}
	for _, a := range o.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			// "--build-arg NAME" takes NAME from the environment.
			if ev, set := os.LookupEnv(k); set {
				out.BuildArgs[k] = &ev
			} else {
				out.BuildArgs[k] = nil
			}
			continue
		}
		out.BuildArgs[k] = &v
	}
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		out.Labels[k] = v
	}
	for _, u := range o.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return out, err
		}
		out.Ulimits = append(out.Ulimits, &container.Ulimit{Name: ul.Name, Soft: ul.Soft, Hard: ul.Hard})
	}
	return out, nil
}

func runBuild(ctx context.Context, c *berthCLI, src string, opts *buildOptions) error {
	bopts, err := opts.apiOptions()
	if err != nil {
		return err
	}
	if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
		return fmt.Errorf("unable to prepare context: remote build contexts are not supported by berth yet")
	}
	body, dfName, err := buildContextReader(c, src, opts.file)
	if err != nil {
		return err
	}
	defer body.Close()
	bopts.Dockerfile = dfName
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageBuild(ctx, body, bopts)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var id string
	aux := func(m jsonstream.Message) {
		var r struct{ ID string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &r) == nil && r.ID != "" {
			id = r.ID
		}
	}
	out := c.out
	var held bytes.Buffer
	if opts.quiet {
		out = &held
	}
	if err := jsonmessage.DisplayJSONMessagesStream(res.Body, out, 0, false, aux); err != nil {
		if opts.quiet {
			c.err.Write(held.Bytes())
		}
		var je *jsonstream.Error
		if errors.As(err, &je) {
			return statusError{status: je.Message, code: 1}
		}
		return err
	}
	if opts.quiet {
		c.out.Write(held.Bytes())
	}
	if opts.iidfile != "" && id != "" {
		if err := os.WriteFile(opts.iidfile, []byte(id), 0o666); err != nil {
			return fmt.Errorf("failed to write the image ID to %s: %w", opts.iidfile, err)
		}
	}
	return nil
}

// buildContextReader streams the build context: a directory as a tar
// (minus what .dockerignore excludes), or stdin as given ("-": a tar or
// a bare Dockerfile). A Dockerfile outside the context, or read from stdin
// with -f -, goes into the tar under a random name, as Docker's CLI does.
func buildContextReader(c *berthCLI, src, file string) (io.ReadCloser, string, error) {
	if src == "-" {
		if file == "-" {
			return nil, "", errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		return io.NopCloser(c.in), file, nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, "", fmt.Errorf("unable to prepare context: path %q not found", src)
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("unable to prepare context: context must be a directory: %s", src)
	}
	var extra *extraFile
	dfName := file
	switch {
	case file == "-":
		data, err := io.ReadAll(c.in)
		if err != nil {
			return nil, "", err
		}
		extra = &extraFile{name: randomDockerfileName(), data: data}
		dfName = extra.name
	case file != "":
		abs, _ := filepath.Abs(file)
		ctxAbs, _ := filepath.Abs(src)
		if rel, err := filepath.Rel(ctxAbs, abs); err == nil && !strings.HasPrefix(rel, "..") {
			dfName = filepath.ToSlash(rel)
		} else {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, "", fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
			}
			extra = &extraFile{name: randomDockerfileName(), data: data}
			dfName = extra.name
		}
	}
	excludes, err := readDockerignore(src, dfName)
	if err != nil {
		return nil, "", err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContextTar(pw, src, excludes, dfName, extra))
	}()
	return pr, dfName, nil
}

func randomDockerfileName() string {
	b := make([]byte, 10)
	rand.Read(b)
	return ".dockerfile." + hex.EncodeToString(b)
}
