package shim

import (
	"berth/internal/atomicfile"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

// Options describe the container a shim runs.
type Options struct {
	ID   string
	Spec *specs.Spec // from runtime.Spec
	// StateDir is the container's directory under the exec root; it holds
	// the socket, so keep it short (unix socket paths max 108 bytes).
	StateDir    string
	LogPath     string // json-file log; "" discards output
	LogMaxSize  int64
	LogMaxFiles int
	// Stdin keeps the container's stdin open for attach; Tty gives it a
	// pty. Either makes the container interactive (interactive.go): it is
	// held until Resume.
	Stdin, Tty bool
}

// Client talks to one shim. It holds no connection: every call dials the
// socket, so a Client survives nothing and needs nothing to be recovered.
type Client struct {
	stateDir string
	pid      int

	closeOnce sync.Once
	closed    chan struct{}
}

func newClient(stateDir string, pid int) *Client {
	return &Client{stateDir: stateDir, pid: pid, closed: make(chan struct{})}
}

// Start spawns a detached shim for opts and waits until the container's
// init process runs. On failure it leaves nothing behind but what the
// caller created; an exec failure (command not found, permission denied)
// is an InvalidParameter error, anything else a System error.
func Start(ctx context.Context, opts Options) (*Client, error) {
	if opts.ID == "" || opts.Spec == nil || opts.StateDir == "" {
		return nil, errdefs.InvalidParameterf("shim: ID, Spec and StateDir are required")
	}
	if len(filepath.Join(opts.StateDir, socketFile)) >= 108 {
		return nil, errdefs.InvalidParameterf("shim: state dir %q is too long for a unix socket", opts.StateDir)
	}
	WarmCgroups()
	if err := os.MkdirAll(opts.StateDir, 0o711); err != nil {
		return nil, errdefs.System(err)
	}
	if c, err := Connect(ctx, opts.StateDir); err == nil {
		return nil, errdefs.Conflictf("container %s is already running (init pid %d)", opts.ID, c.Pid())
	}
	// A restarted container reuses its state dir: the last run's record must
	// not answer for this one.
	for _, f := range []string{exitFile, socketFile} {
		if err := os.Remove(filepath.Join(opts.StateDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, errdefs.System(err)
		}
	}
	b, err := json.Marshal(opts.Spec)
	if err != nil {
		return nil, errdefs.System(err)
	}
	// Not fsynced: the spec is a hand-off that the shim reads at once and
	// that means nothing after a crash (the container is gone by then).
	if err := writeFileAtomic(filepath.Join(opts.StateDir, configFile), b, false); err != nil {
		return nil, errdefs.System(err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		cleanupState(opts.StateDir)
		return nil, errdefs.System(err)
	}
	defer r.Close()
	args := []string{"shim",
		"--id", opts.ID,
		"--state-dir", opts.StateDir,
		"--log", opts.LogPath,
		"--log-max-size", strconv.FormatInt(opts.LogMaxSize, 10),
		"--log-max-files", strconv.Itoa(opts.LogMaxFiles),
	}
	if opts.Tty {
		args = append(args, "--tty")
	}
	if opts.Stdin {
		args = append(args, "--stdin")
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Dir = opts.StateDir
	cmd.ExtraFiles = []*os.File{w} // fd 3: the start result
	if exe := sealedSelf(); exe != nil {
		// Exec the sealed copy through the child's own descriptor table:
		// fd 4 after the stdlib has placed ExtraFiles, so it cannot be
		// clobbered by the fd shuffling before exec (golang/go#61751).
		cmd.ExtraFiles = append(cmd.ExtraFiles, exe)
		cmd.Path = "/proc/self/fd/4"
		args = append(args, exeFdFlag, "4")
	}
	cmd.Args = append([]string{"/proc/self/exe"}, args...)
	// Setsid: its own session and process group, so neither the daemon's
	// death nor signals to the daemon's group reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		cleanupState(opts.StateDir)
		return nil, errdefs.System(fmt.Errorf("start shim: %w", err))
	}
	w.Close()

	type result struct {
		res startResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res startResult
		err := json.NewDecoder(r).Decode(&res)
		done <- result{res, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		// Killing the shim mid-start could orphan a half-made container;
		// let the start finish, then take the container down properly.
		res = <-done
		if res.err == nil && res.res.Error == "" && res.res.Pid > 0 {
			_ = newClient(opts.StateDir, res.res.Pid).Signal(context.Background(), syscall.SIGKILL)
		}
		_ = cmd.Wait()
		cleanupState(opts.StateDir)
		return nil, ctx.Err()
	}
	if res.err == nil && res.res.Error == "" && res.res.Pid > 0 {
		// The daemon is the shim's parent until it exits; reap it so it
		// does not linger as a zombie.
		go func() { _ = cmd.Wait() }()
		return newClient(opts.StateDir, res.res.Pid), nil
	}
	// The shim cleans up the container itself before reporting; wait for
	// it to finish so that nothing is left behind when we return.
	_ = cmd.Wait()
	cleanupState(opts.StateDir)
	if res.err != nil {
		return nil, errdefs.System(fmt.Errorf("shim exited before starting the container: %w", res.err))
	}
	return nil, classifyStartError(res.res.Error)
}

// classifyStartError turns libcontainer's start error text into a classed
// error: a command that cannot be executed is the user's mistake.
func classifyStartError(msg string) error {
	err := errors.New(msg)
	for _, s := range []string{"executable file not found", "no such file or directory", "permission denied", "is a directory", "not a directory"} {
		if strings.Contains(msg, s) && strings.Contains(msg, "exec") {
			return errdefs.InvalidParameter(err)
		}
	}
	return errdefs.System(err)
}

// cleanupState removes what Start and the shim put in stateDir, leaving the
// directory itself (the daemon's).
func cleanupState(stateDir string) {
	for _, f := range []string{configFile, socketFile, exitFile} {
		_ = os.Remove(filepath.Join(stateDir, f))
	}
	_ = os.RemoveAll(filepath.Join(stateDir, runcDir))
}

// Connect attaches to the live shim of stateDir, e.g. after a daemon
// restart. It returns a NotFound error when no shim answers there.
func Connect(ctx context.Context, stateDir string) (*Client, error) {
	c := newClient(stateDir, 0)
	resp, err := c.call(ctx, request{Op: opPid})
	if err != nil {
		return nil, err
	}
	c.pid = resp.Pid
	return c, nil
}

// Pid is the container's init process as seen from the host.
func (c *Client) Pid() int { return c.pid }

// Signal sends sig to the container's init process.
func (c *Client) Signal(ctx context.Context, sig syscall.Signal) error {
	_, err := c.call(ctx, request{Op: opSignal, Signal: int(sig)})
	return err
}

// Wait blocks until the container exits and returns its exit status. If the
// shim is gone it returns what the shim recorded.
func (c *Client) Wait(ctx context.Context) (Exit, error) {
	resp, err := c.call(ctx, request{Op: opWait})
	if err == nil && resp.Exit != nil {
		return *resp.Exit, nil
	}
	if ctx.Err() != nil {
		return Exit{}, ctx.Err()
	}
	if err != nil && !errdefs.IsNotFound(err) && !errors.Is(err, errShimGone) {
		return Exit{}, err
	}
	exit, rerr := ReadExit(c.stateDir)
	if rerr != nil {
		if errdefs.IsNotFound(rerr) {
			return Exit{}, errdefs.Systemf("shim for %s exited without recording an exit status", c.stateDir)
		}
		return Exit{}, rerr
	}
	return exit, nil
}

// Close releases the client; calls in flight return.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

var errShimGone = errors.New("shim closed the connection without answering")

func (c *Client) call(ctx context.Context, req request) (response, error) {
	select {
	case <-c.closed:
		return response{}, errdefs.Unavailable(errors.New("shim client is closed"))
	default:
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(c.stateDir, socketFile))
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return response{}, errdefs.NotFoundf("no running shim in %s", c.stateDir)
		}
		return response{}, errdefs.System(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-c.closed:
		case <-stop:
			return
		}
		conn.Close()
	}()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return response{}, errShimGone
	}
	var resp response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		select {
		case <-c.closed:
			return response{}, errdefs.Unavailable(errors.New("shim client is closed"))
		default:
		}
		return response{}, errShimGone
	}
	if resp.Error != "" {
		return resp, classed(resp.Class, resp.Error)
	}
	return resp, nil
}

func classed(class, msg string) error {
	err := errors.New(msg)
	switch class {
	case "conflict":
		return errdefs.Conflict(err)
	case "invalid":
		return errdefs.InvalidParameter(err)
	case "notfound":
		return errdefs.NotFound(err)
	}
	return errdefs.System(err)
}

// ReadExit returns the exit status the shim recorded in stateDir, or a
// NotFound error if there is none.
func ReadExit(stateDir string) (Exit, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, exitFile))
	if errors.Is(err, os.ErrNotExist) {
		return Exit{}, errdefs.NotFoundf("no exit status recorded in %s", stateDir)
	}
	if err != nil {
		return Exit{}, errdefs.System(err)
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return Exit{}, errdefs.System(fmt.Errorf("parse %s: %w", exitFile, err))
	}
	return e, nil
}

// writeFileAtomic writes b to name so that readers see the old file or the
// whole new one; with durable, also across a crash.
func writeFileAtomic(name string, b []byte, durable bool) error {
	if durable {
		return atomicfile.Write(name, b, 0o600)
	}
	return atomicfile.Replace(name, b, 0o600)
}
