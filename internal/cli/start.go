package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type startOptions struct {
	attach     bool
	stdin      bool
	detachKeys string
	containers []string
}

func newStartCommand(c *berthCLI) *cobra.Command {
	var opts startOptions
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runStart(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&opts.stdin, "interactive", "i", false, "Attach container's STDIN")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return withAliasGroup(cmd, "start")
}

func runStart(ctx context.Context, c *berthCLI, opts *startOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if opts.attach || opts.stdin {
		if len(opts.containers) > 1 {
			return errors.New("you cannot start and attach multiple containers at once")
		}
		insp, err := api.ContainerInspect(ctx, opts.containers[0], client.ContainerInspectOptions{})
		if err != nil {
			return err
		}
		ctr := insp.Container
		tty, openStdin, autoRemove := false, false, false
		if ctr.Config != nil {
			tty, openStdin = ctr.Config.Tty, ctr.Config.OpenStdin
		}
		if ctr.HostConfig != nil {
			autoRemove = ctr.HostConfig.AutoRemove
		}
		s := attachSession{
			id:         ctr.ID,
			tty:        tty,
			stdin:      opts.stdin && openStdin,
			stdout:     true,
			stderr:     true,
			autoRemove: autoRemove,
			sigProxy:   !tty,
			detachKeys: detachKeys(opts.detachKeys),
		}
		if tty && s.stdin {
			if _, ok := terminalFd(c.in); !ok {
				return errors.New("the input device is not a TTY")
			}
		}
		status, err := s.run(ctx, c, api)
		if isEscape(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if status != 0 {
			return statusError{code: status}
		}
		return nil
	}
	var failed []string
	for _, name := range opts.containers {
		if _, err := api.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
			fmt.Fprintln(c.err, c.errText(err))
			failed = append(failed, name)
			continue
		}
		fmt.Fprintln(c.out, name)
	}
	if len(failed) > 0 {
		return fmt.Errorf("Error: failed to start containers: %s", strings.Join(failed, ", "))
	}
	return nil
}
