package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// ExecProcess is an extra process to run inside a running container.
type ExecProcess struct {
	Args []string
	// Env is the complete environment; see [ExecEnv].
	Env  []string
	Cwd  string // "" is "/"
	User User
	// Privileged grants every capability the host's bounding set holds
	// (Host.BoundingCaps), like --privileged does for a container. Without
	// it the process gets exactly the container's capability sets.
	Privileged bool
	Host       Host
	// Terminal, when set, gives the process a pty of that size: stdout
	// gets everything it prints, stdin is what it reads (EOF does not end
	// it), stderr is unused; Resize works once Exec returned.
	Terminal *Terminal
}

// ExecEnv is the environment of an exec'd process: the container's own
// (as Spec builds it) with the exec's entries overriding.
func ExecEnv(containerEnv []string, hostname string, user User, execEnv []string) []string {
	return env(Config{Env: append(append([]string(nil), containerEnv...), execEnv...), Hostname: hostname, User: user})
}

// Exec starts p inside the container whose libcontainer state lives in
// stateRoot/id, joining its namespaces and cgroups under the container's
// seccomp profile, no-new-privileges setting and rlimits. The caller is the
// process's parent: wait must be called once; it returns the exit code
// (128+signal when killed) once the process exited and its output was
// copied. Stdin, when not nil, is copied to the process until EOF, which
// closes the process's stdin.
//
// A command that cannot be executed is an InvalidParameter error whose
// message says why (Docker's "executable file not found" wording).
func Exec(ctx context.Context, stateRoot, id string, p ExecProcess, stdin io.Reader, stdout, stderr io.Writer) (pid int, wait func() (int, error), err error) {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return 0, nil, errdefs.InvalidParameterf("No exec command specified")
	}
	c, err := libcontainer.Load(stateRoot, id)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil, errdefs.Conflictf("Container %s is not running", id)
		}
		return 0, nil, errdefs.System(fmt.Errorf("load container state: %w", err))
	}
	st, err := c.State()
	if err != nil {
		return 0, nil, errdefs.System(err)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	proc := &libcontainer.Process{
		Args: p.Args, Env: p.Env, Cwd: cwd,
		UID: int(p.User.UID), GID: int(p.User.GID),
		Init: false,
	}
	for _, g := range p.User.AdditionalGids {
		proc.AdditionalGroups = append(proc.AdditionalGroups, int(g))
	}
	if p.Privileged {
		caps, err := capabilities(Config{Privileged: true, Host: p.Host})
		if err != nil {
			return 0, nil, err
		}
		proc.Capabilities = &configs.Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	// The container's rlimits are not part of libcontainer's config (they
	// belong to the init process): copy them from the init itself.
	proc.Rlimits = initRlimits(st.InitProcessPid)
	if p.Terminal != nil {
		return execTTY(c, proc, p.Terminal, stdin, stdout)
	}

	var files []*os.File // the process's ends, closed once it started
	var copies sync.WaitGroup
	var ours []*os.File // our ends
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	for _, out := range []struct {
		w   io.Writer
		set *io.Writer
	}{{stdout, &proc.Stdout}, {stderr, &proc.Stderr}} {
		if out.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(files)
			closeAll(ours)
			return 0, nil, errdefs.System(err)
		}
		files, ours = append(files, w), append(ours, r)
		*out.set = w
		dst := out.w
		copies.Add(1)
		go func() {
			defer copies.Done()
			_, _ = io.Copy(dst, r)
			r.Close()
		}()
	}
	var stdinW *os.File
	if stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(files)
			closeAll(ours)
			return 0, nil, errdefs.System(err)
		}
		files = append(files, r)
		proc.Stdin, stdinW = r, w
	}
	// Stdout and stderr need setting for libcontainer even when unused.
	setFileIO(proc)

	if err := c.Run(proc); err != nil {
		closeAll(files)
		if stdinW != nil {
			stdinW.Close()
		}
		copies.Wait()
		return 0, nil, classifyExecErr(err)
	}
	closeAll(files)
	if stdinW != nil {
		go func() {
			_, _ = io.Copy(stdinW, stdin)
			stdinW.Close()
		}()
	}
	pid, err = proc.Pid()
	if err != nil {
		return 0, nil, errdefs.System(err)
	}
	wait = func() (int, error) {
		ps, err := proc.Wait()
		if ps == nil && err != nil {
			copies.Wait()
			return 255, errdefs.System(err)
		}
		copies.Wait()
		return exitStatus(ps), nil
	}
	return pid, wait, nil
}

// setFileIO gives the unset streams /dev/null, so the process does not
// inherit anything of its parent's.
func setFileIO(p *libcontainer.Process) {
	if p.Stdin == nil {
		p.Stdin = strings.NewReader("")
	}
	if p.Stdout == nil {
		p.Stdout = io.Discard
	}
	if p.Stderr == nil {
		p.Stderr = io.Discard
	}
}

func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
	return ps.ExitCode()
}

// classifyExecErr makes the failures a user caused InvalidParameter and
// words them like Docker, around libcontainer's message.
func classifyExecErr(err error) error {
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return errdefs.Conflict(err)
	}
	// Docker's wording, from containerd over runc.
	err = fmt.Errorf("OCI runtime exec failed: exec failed: %w: unknown", err)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"),
		strings.Contains(msg, "permission denied"), strings.Contains(msg, "not a directory"):
		return errdefs.InvalidParameter(err)
	}
	return errdefs.System(err)
}

// ExecExitCode is the exit code Docker records for an exec that could not
// start: 127 for a missing command, 126 for one that cannot be executed.
func ExecExitCode(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		return 127
	case strings.Contains(msg, "permission denied"):
		return 126
	}
	return 126
}

var execRlimits = []int{unix.RLIMIT_NOFILE, unix.RLIMIT_NPROC, unix.RLIMIT_CORE, unix.RLIMIT_MEMLOCK, unix.RLIMIT_STACK}

// initRlimits reads the limits the container's init runs with.
func initRlimits(pid int) []configs.Rlimit {
	var out []configs.Rlimit
	for _, t := range execRlimits {
		var rl unix.Rlimit
		if err := unix.Prlimit(pid, t, nil, &rl); err != nil {
			continue
		}
		out = append(out, configs.Rlimit{Type: t, Hard: rl.Max, Soft: rl.Cur})
	}
	return out
}

// ttyDrainTimeout bounds the wait for the last output of an exec with a
// tty: a background child that keeps the pty open must not hold the exec.
const ttyDrainTimeout = 2 * time.Second

// execTTY runs proc on a new pty (see ExecProcess.Terminal).
func execTTY(c *libcontainer.Container, proc *libcontainer.Process, t *Terminal, stdin io.Reader, stdout io.Writer) (int, func() (int, error), error) {
	console, err := NewConsole()
	if err != nil {
		return 0, nil, errdefs.System(err)
	}
	proc.ConsoleSocket = console.Socket()
	t.mu.Lock()
	proc.ConsoleHeight, proc.ConsoleWidth = t.Height, t.Width
	t.mu.Unlock()
	if err := c.Run(proc); err != nil {
		console.Close()
		return 0, nil, classifyExecErr(err)
	}
	master, err := console.Master(10 * time.Second)
	if err != nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		return 0, nil, errdefs.System(fmt.Errorf("receive exec console: %w", err))
	}
	t.setMaster(master)
	if stdout == nil {
		stdout = io.Discard
	}
	copied := make(chan struct{})
	go func() {
		// Ends with EIO once the process and its children closed the pty.
		_, _ = io.Copy(stdout, master)
		close(copied)
	}()
	if stdin != nil {
		go func() { _, _ = io.Copy(master, stdin) }()
	}
	pid, err := proc.Pid()
	if err != nil {
		return 0, nil, errdefs.System(err)
	}
	wait := func() (int, error) {
		ps, err := proc.Wait()
		select {
		case <-copied:
		case <-time.After(ttyDrainTimeout):
		}
		t.setMaster(nil)
		master.Close()
		if ps == nil && err != nil {
			return 255, errdefs.System(err)
		}
		return exitStatus(ps), nil
	}
	return pid, wait, nil
}
