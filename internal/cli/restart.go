package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type restartOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

func newRestartCommand(c *berthCLI) *cobra.Command {
	var opts restartOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runRestart(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "time", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "timeout", 0, "Seconds to wait before killing the container")
	_ = f.MarkHidden("timeout")
	return withAliasGroup(cmd, "restart")
}

func runRestart(ctx context.Context, c *berthCLI, opts *restartOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var timeout *int
	if opts.timeoutSet {
		t := opts.timeout
		timeout = &t
	}
	var errs []string
	for _, name := range opts.containers {
		if _, err := api.ContainerRestart(ctx, name, client.ContainerRestartOptions{Signal: opts.signal, Timeout: timeout}); err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
