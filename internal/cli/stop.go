package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

func newStopCommand(c *berthCLI) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runStop(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "time", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "timeout", 0, "Seconds to wait before killing the container")
	_ = f.MarkHidden("timeout")
	return withAliasGroup(cmd, "stop")
}

func runStop(ctx context.Context, c *berthCLI, opts *stopOptions) error {
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
		if _, err := api.ContainerStop(ctx, name, client.ContainerStopOptions{Signal: opts.signal, Timeout: timeout}); err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
