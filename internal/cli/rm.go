package cli

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type rmOptions struct {
	force      bool
	volumes    bool
	link       bool
	containers []string
}

func newRmCommand(c *berthCLI) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runRm(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&opts.link, "link", "l", false, "Remove the specified link")
	f.BoolVarP(&opts.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return withAliasGroup(cmd, "rm")
}

func runRm(ctx context.Context, c *berthCLI, opts *rmOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range opts.containers {
		name = strings.Trim(name, "/")
		if name == "" {
			errs = append(errs, "Container name cannot be empty")
			continue
		}
		_, err := api.ContainerRemove(ctx, name, client.ContainerRemoveOptions{
			RemoveVolumes: opts.volumes, RemoveLinks: opts.link, Force: opts.force,
		})
		if err != nil {
			// rm -f of something already gone is not an error, as in Docker.
			if opts.force && cerrdefs.IsNotFound(err) {
				continue
			}
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
