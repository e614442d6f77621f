package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type killOptions struct {
	signal     string
	containers []string
}

func newKillCommand(c *berthCLI) *cobra.Command {
	var opts killOptions
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runKill(cmd.Context(), c, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	return withAliasGroup(cmd, "kill")
}

func runKill(ctx context.Context, c *berthCLI, opts *killOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range opts.containers {
		if _, err := api.ContainerKill(ctx, name, client.ContainerKillOptions{Signal: opts.signal}); err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
