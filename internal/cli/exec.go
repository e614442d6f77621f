package cli

import (
	"context"
	"errors"

	"github.com/moby/moby/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"
)

type execOptions struct {
	detach      bool
	interactive bool
	tty         bool
	privileged  bool
	user        string
	workdir     string
	detachKeys  string
	env         []string
	envFiles    []string
}

func newExecCommand(c *berthCLI) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  requiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), c, &opts, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVar(&opts.privileged, "privileged", false, "Give extended privileges to the command")
	f.StringVarP(&opts.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	return withAliasGroup(cmd, "exec")
}

func runExec(ctx context.Context, c *berthCLI, opts *execOptions, ref string, cmdArgs []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	env, err := parseEnv(opts.envFiles, opts.env)
	if err != nil {
		return err
	}
	// Like Docker: an unknown container is reported before anything else,
	// and no exec is created for a request that cannot be served.
	if _, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{}); err != nil {
		return err
	}
	keys := detachKeys(opts.detachKeys)
	create := client.ExecCreateOptions{
		User: opts.user, Privileged: opts.privileged, TTY: opts.tty,
		AttachStdin: opts.interactive && !opts.detach, DetachKeys: keys,
		Env: env, WorkingDir: opts.workdir, Cmd: cmdArgs,
	}
	if opts.tty && create.AttachStdin {
		if _, ok := terminalFd(c.in); !ok {
			return errors.New("the input device is not a TTY")
		}
	}
	if opts.tty {
		if fd, ok := terminalFd(c.out); ok {
			if ws, err := term.GetWinsize(fd); err == nil {
				create.ConsoleSize = client.ConsoleSize{Height: uint(ws.Height), Width: uint(ws.Width)}
			}
		}
	}
	if !opts.detach {
		create.AttachStdout, create.AttachStderr = true, true
	}
	res, err := api.ExecCreate(ctx, ref, create)
	if err != nil {
		return err
	}
	if opts.detach {
		_, err := api.ExecStart(ctx, res.ID, client.ExecStartOptions{Detach: true, TTY: opts.tty})
		return err
	}
	h, err := api.ExecAttach(ctx, res.ID, client.ExecAttachOptions{TTY: opts.tty, ConsoleSize: create.ConsoleSize})
	if err != nil {
		return err
	}
	defer h.Close()
	s := attachSession{tty: opts.tty, stdin: create.AttachStdin, stdout: true, stderr: true, detachKeys: keys}
	restore := func() {}
	if opts.tty && create.AttachStdin {
		restore = c.rawInput()
	}
	if opts.tty {
		stop := c.followSize(ctx, func(ctx context.Context, hgt, wid uint) error {
			_, err := api.ExecResize(ctx, res.ID, client.ExecResizeOptions{Height: hgt, Width: wid})
			return err
		})
		defer stop()
	}
	err = s.stream(c, &h.HijackedResponse)
	restore()
	if err != nil {
		// The detach keys end up here too: like Docker's, the process
		// keeps running and the command fails with "read escape sequence".
		return err
	}
	ins, err := api.ExecInspect(ctx, res.ID, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if ins.Running {
		return errors.New("exec process is still running")
	}
	if ins.ExitCode != 0 {
		return statusError{code: ins.ExitCode}
	}
	return nil
}
