package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type runOptions struct {
	createOptions
	detach     bool
	sigProxy   bool
	detachKeys string
}

func newRunCommand(c *berthCLI) *cobra.Command {
	var opts runOptions
	copts := &containerOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			copts.image = args[0]
			copts.args = args[1:]
			return runRun(cmd.Context(), c, cmd.Flags(), &opts, copts)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.StringVar(&opts.name, "name", "", "Assign a name to the container")
	f.StringVar(&opts.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the pull output")
	f.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	addContainerFlags(f, copts)
	return withAliasGroup(cmd, "run")
}

func runRun(ctx context.Context, c *berthCLI, flags *pflag.FlagSet, opts *runOptions, copts *containerOptions) error {
	cfg, err := parseContainerOptions(flags, copts)
	if err != nil {
		return flagStatusError("run", err)
	}
	if opts.detach {
		if len(copts.attach.streams) > 0 {
			return runStatusError("run", errors.New("conflicting options: cannot specify both --attach and --detach"))
		}
		cfg.Config.AttachStdin, cfg.Config.AttachStdout, cfg.Config.AttachStderr = false, false, false
		cfg.Config.StdinOnce = false
	}
	if cfg.Config.Tty && cfg.Config.AttachStdin {
		if f, ok := c.in.(*os.File); !ok || !term.IsTerminal(f.Fd()) {
			return runStatusError("run", errors.New("the input device is not a TTY"))
		}
	}
	if cfg.Config.Tty {
		if f, ok := c.out.(*os.File); ok {
			if ws, err := term.GetWinsize(f.Fd()); err == nil {
				cfg.HostConfig.ConsoleSize = [2]uint{uint(ws.Height), uint(ws.Width)}
			}
		}
	}
	api, err := c.client()
	if err != nil {
		return runStatusError("run", c.userError(err))
	}
	id, err := createContainer(ctx, c, api, &opts.createOptions, cfg)
	if err != nil {
		return runStatusError("run", c.userError(err))
	}
	if opts.detach {
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return runStatusError("run", c.userError(err))
		}
		fmt.Fprintln(c.out, id)
		return nil
	}
	s := attachSession{
		id:         id,
		tty:        cfg.Config.Tty,
		stdin:      cfg.Config.AttachStdin,
		stdout:     cfg.Config.AttachStdout,
		stderr:     cfg.Config.AttachStderr,
		autoRemove: cfg.HostConfig.AutoRemove,
		sigProxy:   opts.sigProxy && !cfg.Config.Tty,
		detachKeys: opts.detachKeys,
	}
	status, err := s.run(ctx, c, api)
	if err != nil {
		return runStatusError("run", c.userError(err))
	}
	if status != 0 {
		return statusError{code: status}
	}
	return nil
}

// attachSession is the foreground flow shared by run and start -a: attach
// and wait are both in place before the container starts, so no output and
// no exit is missed.
type attachSession struct {
	id                    string
	tty                   bool
	stdin, stdout, stderr bool
	autoRemove            bool
	sigProxy              bool
	detachKeys            string
	// start is called between attach/wait and streaming; nil means
	// ContainerStart.
	start func(ctx context.Context) error
}

func (s *attachSession) run(ctx context.Context, c *berthCLI, api *client.Client) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var hijacked *client.HijackedResponse
	if s.stdin || s.stdout || s.stderr {
		res, err := api.ContainerAttach(ctx, s.id, client.ContainerAttachOptions{
			Stream: true, Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr, DetachKeys: s.detachKeys,
		})
		if err != nil {
			return 0, err
		}
		hijacked = &res.HijackedResponse
		defer hijacked.Close()
	}

	condition := container.WaitConditionNextExit
	if s.autoRemove {
		condition = container.WaitConditionRemoved
	}
	wait := api.ContainerWait(ctx, s.id, client.ContainerWaitOptions{Condition: condition})

	start := s.start
	if start == nil {
		start = func(ctx context.Context) error {
			_, err := api.ContainerStart(ctx, s.id, client.ContainerStartOptions{})
			return err
		}
	}
	if err := start(ctx); err != nil {
		if s.autoRemove {
			// The daemon removes the container after a failed start; let
			// the removal finish before reporting, as Docker does.
			select {
			case <-wait.Result:
			case <-wait.Error:
			}
		}
		return 0, err
	}

	if s.sigProxy {
		stop := proxySignals(ctx, api, s.id)
		defer stop()
	}

	var restore func()
	if s.tty {
		restore = setupTTY(ctx, c, api, s.id, s.stdin)
	}
	streamErr := make(chan error, 1)
	if hijacked != nil {
		go func() { streamErr <- s.stream(c, hijacked) }()
	} else {
		streamErr <- nil
	}
	if err := <-streamErr; err != nil && !errors.Is(err, context.Canceled) {
		if restore != nil {
			restore()
		}
		return 0, err
	}
	if restore != nil {
		restore()
	}

	select {
	case res := <-wait.Result:
		if res.Error != nil {
			fmt.Fprintf(c.err, "Error waiting for container: %s\n", res.Error.Message)
			return 125, nil
		}
		return int(res.StatusCode), nil
	case err := <-wait.Error:
		return 125, err
	}
}

// stream copies the container's output until it ends; stdin is pumped in
// the background and half-closed at EOF so the container sees it too.
func (s *attachSession) stream(c *berthCLI, h *client.HijackedResponse) error {
	if s.stdin && c.in != nil {
		go func() {
			_, _ = io.Copy(h.Conn, c.in)
			_ = h.CloseWrite()
		}()
	}
	if !s.stdout && !s.stderr {
		_, err := io.Copy(io.Discard, h.Reader)
		return ignoreClosed(err)
	}
	multiplexed := !s.tty
	if mt, ok := h.MediaType(); ok {
		multiplexed = mt == "application/vnd.docker.multiplexed-stream"
	}
	var err error
	if multiplexed {
		_, err = stdcopy.StdCopy(c.out, c.err, h.Reader)
	} else {
		_, err = io.Copy(c.out, h.Reader)
	}
	return ignoreClosed(err)
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// setupTTY puts a local terminal into raw mode and tells the daemon its
// size; the returned function restores the terminal.
func setupTTY(ctx context.Context, c *berthCLI, api *client.Client, id string, stdin bool) func() {
	restore := func() {}
	if f, ok := c.in.(*os.File); ok && stdin && term.IsTerminal(f.Fd()) {
		if state, err := term.SetRawTerminal(f.Fd()); err == nil {
			restore = func() { _ = term.RestoreTerminal(f.Fd(), state) }
		}
	}
	if f, ok := c.out.(*os.File); ok && term.IsTerminal(f.Fd()) {
		if ws, err := term.GetWinsize(f.Fd()); err == nil {
			_, _ = api.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: uint(ws.Height), Width: uint(ws.Width)})
		}
	}
	return restore
}

// proxySignals forwards the client's SIGINT/SIGTERM/SIGHUP/SIGQUIT to the
// container, like Docker's --sig-proxy.
func proxySignals(ctx context.Context, api *client.Client, id string) func() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				name := signalName(sig)
				_, _ = api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: name})
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		return fmt.Sprintf("%d", int(s))
	}
	return sig.String()
}
