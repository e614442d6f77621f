package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type attachOptions struct {
	noStdin    bool
	sigProxy   bool
	detachKeys string
}

func newAttachCommand(c *berthCLI) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd.Context(), c, &opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return withAliasGroup(cmd, "attach")
}

// runAttach follows Docker's: the container must be running; the exit
// status of the container becomes the command's once the stream ends.
func runAttach(ctx context.Context, c *berthCLI, opts *attachOptions, ref string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	insp, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	ctr := insp.Container
	if ctr.State == nil || !ctr.State.Running {
		return errors.New("You cannot attach to a stopped container, start it first")
	}
	if ctr.State.Paused {
		return errors.New("You cannot attach to a paused container, unpause it first")
	}
	if ctr.State.Restarting {
		return errors.New("You cannot attach to a restarting container, wait until it is running")
	}
	tty := ctr.Config != nil && ctr.Config.Tty
	stdin := !opts.noStdin && ctr.Config != nil && ctr.Config.OpenStdin
	if tty && stdin {
		if _, ok := terminalFd(c.in); !ok {
			return errors.New("the input device is not a TTY")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := api.ContainerAttach(ctx, ctr.ID, client.ContainerAttachOptions{
		Stream: true, Stdin: stdin, Stdout: true, Stderr: true, DetachKeys: detachKeys(opts.detachKeys),
	})
	if err != nil {
		return err
	}
	h := &res.HijackedResponse
	defer h.Close()
	// Registered now, so the exit of a container that ends while we stream
	// is not missed.
	wait := api.ContainerWait(ctx, ctr.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	if opts.sigProxy && !tty {
		stop := proxySignals(ctx, api, ctr.ID)
		defer stop()
	}
	s := attachSession{id: ctr.ID, tty: tty, stdin: stdin, stdout: true, stderr: true, detachKeys: detachKeys(opts.detachKeys)}
	restore := func() {}
	if tty && stdin {
		restore = c.rawInput()
	}
	if tty {
		stop := c.followSize(ctx, func(ctx context.Context, hgt, wid uint) error {
			_, err := api.ContainerResize(ctx, ctr.ID, client.ContainerResizeOptions{Height: hgt, Width: wid})
			return err
		})
		defer stop()
	}
	err = s.stream(c, h)
	restore()
	if err != nil {
		// The detach keys end up here too: Docker prints "read escape
		// sequence" and leaves the container running.
		return err
	}
	select {
	case r := <-wait.Result:
		if r.Error != nil {
			return errors.New(r.Error.Message)
		}
		if r.StatusCode != 0 {
			return statusError{code: int(r.StatusCode)}
		}
		return nil
	case err := <-wait.Error:
		return fmt.Errorf("waiting for container: %w", err)
	}
}
