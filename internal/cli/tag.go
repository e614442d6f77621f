package cli

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type tagOptions struct {
	source string
	target string
}

func newTagCommand(c *berthCLI) *cobra.Command {
	var opts tagOptions
	cmd := &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source, opts.target = args[0], args[1]
			return runTag(cmd.Context(), c, &opts)
		},
	}
	return withAliasGroup(cmd, "tag")
}

func runTag(ctx context.Context, c *berthCLI, opts *tagOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	_, err = api.ImageTag(ctx, client.ImageTagOptions{Source: opts.source, Target: opts.target})
	return err
}
