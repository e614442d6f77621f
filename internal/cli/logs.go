package cli

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type logsOptions struct {
	follow     bool
	since      string
	until      string
	timestamps bool
	details    bool
	tail       string
	container  string
}

func newLogsCommand(c *berthCLI) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			return runLogs(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	f.StringVar(&opts.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.StringVar(&opts.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&opts.details, "details", false, "Show extra details provided to logs")
	f.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return withAliasGroup(cmd, "logs")
}

func runLogs(ctx context.Context, c *berthCLI, opts *logsOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	insp, err := api.ContainerInspect(ctx, opts.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	// The moby client turns RFC 3339, unix and relative (10m) values into
	// the API's unix timestamps.
	rc, err := api.ContainerLogs(ctx, insp.Container.ID, client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Since:      opts.since,
		Until:      opts.until,
		Timestamps: opts.timestamps,
		Follow:     opts.follow,
		Tail:       opts.tail,
		Details:    opts.details,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	if insp.Container.Config != nil && insp.Container.Config.Tty {
		_, err = io.Copy(c.out, rc)
	} else {
		_, err = stdcopy.StdCopy(c.out, c.err, rc)
	}
	return ignoreClosed(err)
}
