package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// Timeouts for a test daemon.
const (
	daemonStartTimeout = 10 * time.Second
	daemonStopTimeout  = 30 * time.Second
	cliTimeout         = 5 * time.Minute
)

// Daemon is a `berth daemon` on temp roots, owned by one test.
type Daemon struct {
	Socket       string // the API socket
	Host         string // "unix://" + Socket
	DataRoot     string
	ExecRoot     string
	CgroupParent string // unique and relative to the daemon's own cgroup
	Binary       string
	LogFile      string // the daemon's stdout and stderr, across restarts
	// NetPrefix starts the daemon's nftables table and link names; the
	// default bridge is NetPrefix+"0" unless the test passes --bridge.
	NetPrefix string
	// AddressPool is the test daemon's default-address-pool (a /20).
	AddressPool netip.Prefix

	base      string // temp dir holding DataRoot, LogFile and the docker config
	extraArgs []string
	net       netIsolation
	cmd       *exec.Cmd
	exited    chan struct{} // closed once cmd has been waited for
}

// StartDaemon starts a daemon on fresh temp roots and waits until it
// answers /_ping. Everything it leaves behind is removed in t.Cleanup.
func StartDaemon(t testing.TB, extraArgs ...string) *Daemon {
	t.Helper()
	RequiresRoot(t)
	bin := BerthBinary(t)
	base, err := os.MkdirTemp("", "berth-test-")
	if err != nil {
		t.Fatal(err)
	}
	// Unix socket paths are limited to 108 bytes, and the shims' sockets
	// live below the exec root: keep it short.
	execParent := "/run"
	if p := os.Getenv("BERTH_TEST_EXEC_PARENT"); p != "" {
		execParent = p
	}
	execRoot, err := os.MkdirTemp(execParent, "bt-")
	if err != nil {
		if execRoot, err = os.MkdirTemp("/tmp", "bt-"); err != nil {
			os.RemoveAll(base)
			t.Fatal(err)
		}
	}
	d := &Daemon{
		DataRoot:     filepath.Join(base, "data"),
		ExecRoot:     execRoot,
		Socket:       filepath.Join(execRoot, "berth.sock"),
		CgroupParent: "berth-test-" + randomHex(t, 6),
		Binary:       bin,
		LogFile:      filepath.Join(base, "daemon.log"),
		base:         base,
		extraArgs:    extraArgs,
		net:          newNetIsolation(t),
	}
	d.NetPrefix, d.AddressPool = d.net.Prefix, d.net.Pool
	d.Host = "unix://" + d.Socket
	t.Cleanup(func() { d.cleanup(t) })
	if err := os.MkdirAll(d.DataRoot, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := d.start(); err != nil {
		t.Fatalf("starting berth daemon: %v\n%s", err, d.logTail())
	}
	return d
}

func (d *Daemon) args() []string {
	args := []string{"daemon",
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"-H", d.Host,
		"--cgroup-parent", d.CgroupParent,
	}
	args = append(args, d.net.args(d.extraArgs)...)
	return append(args, d.extraArgs...)
}

func (d *Daemon) start() error {
	logf, err := os.OpenFile(d.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(d.args(), " "))
	cmd := exec.Command(d.Binary, d.args()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a ^C to the test must not reach it before
	// cleanup does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	d.cmd, d.exited = cmd, exited
	deadline := time.Now().Add(daemonStartTimeout)
	for {
		if d.ping() == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("daemon exited: %v", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.signalAndWait(syscall.SIGKILL, 5*time.Second)
			return fmt.Errorf("daemon did not answer /_ping on %s within %v", d.Socket, daemonStartTimeout)
		}
	}
}

func (d *Daemon) ping() error {
	hc := http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.Socket)
		}},
	}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://berth/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping: %s", resp.Status)
	}
	return nil
}

// running tells whether the daemon process is still up.
func (d *Daemon) running() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// signalAndWait sends sig and waits up to timeout for the daemon to exit.
func (d *Daemon) signalAndWait(sig syscall.Signal, timeout time.Duration) error {
	if !d.running() {
		return nil
	}
	d.cmd.Process.Signal(sig)
	select {
	case <-d.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("daemon (pid %d) still running %v after %v", d.cmd.Process.Pid, timeout, sig)
	}
}

// Stop stops the daemon with SIGTERM and waits for it to exit, as an
// orderly shutdown would (containers keep running with live restore).
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	if err := d.signalAndWait(syscall.SIGTERM, daemonStopTimeout); err != nil {
		d.signalAndWait(syscall.SIGKILL, 5*time.Second)
		t.Fatalf("%v\n%s", err, d.logTail())
	}
}

// Kill9 kills the daemon with SIGKILL, as a crash would.
func (d *Daemon) Kill9(t testing.TB) {
	t.Helper()
	if err := d.signalAndWait(syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Restart starts the daemon again on the same roots (stopping it first if
// it still runs) and waits until it answers.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	if d.running() {
		d.Stop(t)
	}
	if err := d.start(); err != nil {
		t.Fatalf("restarting berth daemon: %v\n%s", err, d.logTail())
	}
}

// Pid is the daemon's process ID (0 before it started).
func (d *Daemon) Pid() int {
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Berth runs the berth CLI against this daemon and returns its output and
// exit code. It never fails the test by itself.
func (d *Daemon) Berth(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return d.BerthInput(t, "", args...)
}

// BerthInput is Berth with stdin.
func (d *Daemon) BerthInput(t testing.TB, stdin string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	// A private client config: a test's login never touches the host's.
	return d.runCLI(t, stdin, d.Binary, args, "BERTH_HOST="+d.Host, "DOCKER_CONFIG="+d.BerthConfigDir())
}

// Docker runs the docker CLI against this daemon, with a private
// DOCKER_CONFIG so the host's settings and credentials play no part.
func (d *Daemon) Docker(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return d.DockerInput(t, "", args...)
}

// DockerInput is Docker with stdin.
func (d *Daemon) DockerInput(t testing.TB, stdin string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	RequiresDocker(t)
	cfg := filepath.Join(d.base, "docker-config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	return d.runCLI(t, stdin, "docker", append([]string{"-H", d.Host}, args...), "DOCKER_CONFIG="+cfg, "DOCKER_CLI_HINTS=false")
}

func (d *Daemon) runCLI(t testing.TB, stdin, bin string, args []string, env ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case ctx.Err() != nil:
		t.Errorf("%s %s: timed out after %v", filepath.Base(bin), strings.Join(args, " "), cliTimeout)
		return stdout.String(), stderr.String(), -1
	case errors.As(err, &exitErr):
		return stdout.String(), stderr.String(), exitErr.ExitCode()
	default:
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
		return "", "", -1
	}
}

// cleanEnv is the environment minus what would point a CLI elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "BERTH_HOST":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Client returns an API client for this daemon (API version negotiated),
// closed at the end of the test.
func (d *Daemon) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost(d.Host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ImportBusybox imports BusyboxRootfsTar as ref with `berth import`.
func (d *Daemon) ImportBusybox(t testing.TB, ref string) {
	t.Helper()
	tarPath := BusyboxRootfsTar(t)
	stdout, stderr, code := d.Berth(t, "import", tarPath, ref)
	if code != 0 {
		t.Fatalf("berth import %s %s: exit %d\nstdout: %s\nstderr: %s", tarPath, ref, code, stdout, stderr)
	}
}

// logTail is the end of the daemon's log, for failure messages.
func (d *Daemon) logTail() string {
	const max = 64 * 1024
	b, err := os.ReadFile(d.LogFile)
	if err != nil {
		return ""
	}
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return "--- berth daemon log (" + d.LogFile + ") ---\n" + string(b)
}

// cleanup removes everything the daemon may have left, in dependency
// order: processes before mounts, mounts before dirs.
func (d *Daemon) cleanup(t testing.TB) {
	if t.Failed() {
		t.Log(d.logTail())
	}
	if err := d.signalAndWait(syscall.SIGTERM, daemonStopTimeout); err != nil {
		t.Errorf("cleanup: %v", err)
		d.signalAndWait(syscall.SIGKILL, 5*time.Second)
	}
	if left := killAll(func() []int { return pidsWithArg(d.ExecRoot) }, "", 10*time.Second); len(left) > 0 {
		t.Errorf("cleanup: processes with %s in argv survive SIGKILL: %v", d.ExecRoot, left)
	}
	if left := killAll(func() []int { return cgroupPids(d.CgroupParent) }, d.CgroupParent, 10*time.Second); len(left) > 0 {
		t.Errorf("cleanup: processes in cgroup %s survive SIGKILL: %v", d.CgroupParent, left)
	}
	if err := unmountUnder(d.DataRoot, d.ExecRoot); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := d.net.cleanup(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := removeCgroups(d.CgroupParent, 10*time.Second); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, dir := range []string{d.ExecRoot, d.base} {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}
