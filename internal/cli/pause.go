package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newPauseCommand(c *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPause(cmd.Context(), c, args)
		},
	}
	return withAliasGroup(cmd, "pause")
}

func runPause(ctx context.Context, c *berthCLI, containers []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range containers {
		if _, err := api.ContainerPause(ctx, name, client.ContainerPauseOptions{}); err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
