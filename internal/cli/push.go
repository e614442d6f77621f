package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type pushOptions struct {
	all   bool
	quiet bool
}

func newPushCommand(c *berthCLI) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), c, &opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all-tags", "a", false, "Push all tags of an image to the repository")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	f.Bool("disable-content-trust", true, "Skip image signing")
	return withAliasGroup(cmd, "push")
}

func runPush(ctx context.Context, c *berthCLI, opts *pushOptions, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	if opts.all && !reference.IsNameOnly(named) {
		return fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	if !opts.all && reference.IsNameOnly(named) {
		named = reference.TagNameOnly(named)
		if !opts.quiet {
			fmt.Fprintf(c.out, "Using default tag: %s\n", named.(reference.Tagged).Tag())
		}
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	resp, err := api.ImagePush(ctx, named.String(), client.ImagePushOptions{All: opts.all, RegistryAuth: registryAuthFor(ref)})
	if err != nil {
		return err
	}
	defer resp.Close()
	out := c.out
	if opts.quiet {
		out = io.Discard
	}
	if err := displayStream(resp, out); err != nil {
		return err
	}
	if opts.quiet {
		fmt.Fprintln(c.out, named.String())
	}
	return nil
}
