package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/moby/term"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

type pullOptions struct {
	all      bool
	platform string
	quiet    bool
}

func newPullCommand(c *berthCLI) *cobra.Command {
	var opts pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), c, &opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all-tags", "a", false, "Download all tagged images in the repository")
	f.StringVar(&opts.platform, "platform", os.Getenv("DOCKER_DEFAULT_PLATFORM"), "Set platform if server is multi-platform capable")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	f.Bool("disable-content-trust", true, "Skip image verification")
	return withAliasGroup(cmd, "pull")
}

func runPull(ctx context.Context, c *berthCLI, opts *pullOptions, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	switch {
	case opts.all && !reference.IsNameOnly(named):
		return fmt.Errorf("tag can't be used with --all-tags/-a")
	case !opts.all && reference.IsNameOnly(named):
		named = reference.TagNameOnly(named)
		if !opts.quiet {
			fmt.Fprintf(c.out, "Using default tag: %s\n", named.(reference.Tagged).Tag())
		}
	}
	var platform *ocispec.Platform
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		platform = &p
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	out := c.out
	if opts.quiet {
		out = io.Discard
	}
	if err := pullStream(ctx, c, api, named.String(), opts.all, platform, out); err != nil {
		return err
	}
	if opts.all {
		fmt.Fprintln(c.out, named.Name())
	} else {
		fmt.Fprintln(c.out, named.String())
	}
	return nil
}

// pullStream pulls ref with the stored credentials of its registry and
// renders the daemon's progress on out as Docker's CLI does.
func pullStream(ctx context.Context, c *berthCLI, api *client.Client, ref string, all bool, platform *ocispec.Platform, out io.Writer) error {
	po := client.ImagePullOptions{All: all, RegistryAuth: registryAuthFor(ref)}
	if platform != nil {
		po.Platforms = []ocispec.Platform{*platform}
	}
	resp, err := api.ImagePull(ctx, ref, po)
	if err != nil {
		return err
	}
	defer resp.Close()
	return displayStream(resp, out)
}

func displayStream(in io.Reader, out io.Writer) error {
	fd, isTerm := term.GetFdInfo(out)
	return jsonmessage.DisplayJSONMessagesStream(in, out, fd, isTerm, nil)
}
