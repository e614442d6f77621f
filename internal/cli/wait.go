package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type waitOptions struct {
	containers []string
}

func newWaitCommand(c *berthCLI) *cobra.Command {
	var opts waitOptions
	cmd := &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runWait(cmd.Context(), c, &opts)
		},
	}
	return withAliasGroup(cmd, "wait")
}

func runWait(ctx context.Context, c *berthCLI, opts *waitOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range opts.containers {
		res := api.ContainerWait(ctx, name, client.ContainerWaitOptions{})
		select {
		case r := <-res.Result:
			fmt.Fprintf(c.out, "%d\n", r.StatusCode)
		case err := <-res.Error:
			errs = append(errs, c.errText(err))
		}
	}
	return collectErrors(errs)
}
