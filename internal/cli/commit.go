package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type commitOptions struct {
	author, message string
	changes         []string
	pause           bool
}

func newCommitCommand(c *berthCLI) *cobra.Command {
	var opts commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) > 1 {
				ref = args[1]
			}
			return runCommit(cmd.Context(), c, args[0], ref, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	listVarP(f, &opts.changes, "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&opts.message, "message", "m", "", "Commit message")
	f.BoolVarP(&opts.pause, "pause", "p", true, "Pause container during commit")
	return withAliasGroup(cmd, "commit")
}

func runCommit(ctx context.Context, c *berthCLI, name, ref string, opts *commitOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ContainerCommit(ctx, name, client.ContainerCommitOptions{
		Reference: ref, Comment: opts.message, Author: opts.author, Changes: opts.changes, NoPause: !opts.pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, res.ID)
	return nil
}
