package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// stopOptions are shared by stop and restart, which take the same flags.
type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

// timeoutPtr is nil unless the user set -t: the daemon then uses the
// container's own stop timeout.
func (o *stopOptions) timeoutPtr() *int {
	if !o.timeoutSet {
		return nil
	}
	t := o.timeout
	return &t
}

func newStopCommand(c *berthCLI) *cobra.Command {
	return newStopLikeCommand(c, "stop", "Stop one or more running containers",
		func(ctx context.Context, api *client.Client, name string, o *stopOptions) error {
			_, err := api.ContainerStop(ctx, name, client.ContainerStopOptions{Signal: o.signal, Timeout: o.timeoutPtr()})
			return err
		})
}

func newRestartCommand(c *berthCLI) *cobra.Command {
	return newStopLikeCommand(c, "restart", "Restart one or more containers",
		func(ctx context.Context, api *client.Client, name string, o *stopOptions) error {
			_, err := api.ContainerRestart(ctx, name, client.ContainerRestartOptions{Signal: o.signal, Timeout: o.timeoutPtr()})
			return err
		})
}

func newStopLikeCommand(c *berthCLI, name, short string, do func(context.Context, *client.Client, string, *stopOptions) error) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   name + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: short,
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runStopLike(cmd.Context(), c, &opts, do)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&opts.timeout, "time", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&opts.timeout, "timeout", 0, "Seconds to wait before killing the container")
	_ = f.MarkHidden("timeout")
	return withAliasGroup(cmd, name)
}

// runStopLike acts on each container in turn, printing each success and
// collecting failures as Docker does.
func runStopLike(ctx context.Context, c *berthCLI, opts *stopOptions, do func(context.Context, *client.Client, string, *stopOptions) error) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range opts.containers {
		if err := do(ctx, api, name, opts); err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
