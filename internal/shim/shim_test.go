package shim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth/internal/errdefs"
	"berth/internal/runtime"
)

func readLog(t *testing.T, path string) (stdout, stderr string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var e struct{ Log, Stream string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		if e.Stream == "stderr" {
			stderr += e.Log
		} else {
			stdout += e.Log
		}
	}
	return stdout, stderr
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"true", []string{"true"}, 0},
		{"exit 7", []string{"sh", "-c", "exit 7"}, 7},
		{"false", []string{"false"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, opts := newContainer(t, tt.args...)
			c := startContainer(t, cfg, opts)
			if c.Pid() <= 0 {
				t.Errorf("pid = %d", c.Pid())
			}
			e := wait(t, c)
			if e.Code != tt.code || e.OOMKilled {
				t.Errorf("exit = %+v, want code %d", e, tt.code)
			}
			if e.ExitedAt.IsZero() {
				t.Error("no exit time")
			}
			rec, err := ReadExit(opts.StateDir)
			if err != nil || rec.Code != tt.code {
				t.Errorf("ReadExit = %+v, %v", rec, err)
			}
			waitGone(t, opts.StateDir)
			// Only the exit record stays; cgroups are gone.
			ents, _ := os.ReadDir(opts.StateDir)
			if len(ents) != 1 || ents[0].Name() != exitFile {
				t.Errorf("state dir holds %v", names(ents))
			}
			for _, d := range cgroupDirs(cfg.CgroupParent) {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("cgroup dir %s left behind", d)
				}
			}
		})
	}
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// waitGone waits for the shim of stateDir to exit.
func waitGone(t *testing.T, stateDir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !shimRunning(stateDir) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("shim for %s still running", stateDir)
}

func shimRunning(stateDir string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), stateDir) {
			st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if !strings.Contains(string(st), ") Z ") {
				return true
			}
		}
	}
	return false
}

func TestSignalKill(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	var wg sync.WaitGroup
	exits := make([]Exit, 3)
	for i := range exits {
		wg.Add(1)
		go func() { defer wg.Done(); exits[i] = wait(t, c) }()
	}
	time.Sleep(50 * time.Millisecond)
	if err := c.Signal(context.Background(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, e := range exits {
		if e.Code != 137 {
			t.Errorf("exit = %+v, want 137", e)
		}
	}
	waitGone(t, opts.StateDir)
	if err := c.Signal(context.Background(), syscall.SIGKILL); !errdefs.IsNotFound(err) {
		t.Errorf("signal after exit: %v", err)
	}
	// Wait after the shim is gone reads the record.
	if e := wait(t, c); e.Code != 137 {
		t.Errorf("late wait = %+v", e)
	}
}

func TestOutputEnvUser(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", `echo out $FOO $HOSTNAME $HOME; hostname; id -u; id -g; echo err >&2; printf last`)
	cfg.Env = []string{"FOO=bar"}
	u, err := runtime.ResolveUser(cfg.Rootfs, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = u
	c := startContainer(t, cfg, opts)
	if e := wait(t, c); e.Code != 0 {
		t.Fatalf("exit = %+v", e)
	}
	out, errs := readLog(t, opts.LogPath)
	want := "out bar " + cfg.Hostname + " /nonexistent\n" + cfg.Hostname + "\n65534\n65534\nlast"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if errs != "err\n" {
		t.Errorf("stderr = %q", errs)
	}
}

func TestSecurityDefaults(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", `grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/kcore | wc -c; ls /proc/acpi | wc -l; echo x > /proc/sysrq-trigger || echo ro; ulimit -n`)
	c := startContainer(t, cfg, opts)
	if e := wait(t, c); e.Code != 0 {
		t.Fatalf("exit = %+v", e)
	}
	out, errs := readLog(t, opts.LogPath)
	for _, want := range []string{"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "\n0\n0\n", "ro\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, out, errs)
		}
	}
	if runtime.SeccompEnabled && !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("seccomp not in filter mode:\n%s", out)
	}
	nofile := strconv.FormatUint(min(host.NofileMax, 1048576), 10)
	if host.NofileMax == 0 {
		nofile = "1048576"
	}
	if !strings.HasSuffix(out, nofile+"\n") {
		t.Errorf("nofile: want %s in\n%s", nofile, out)
	}
}

func TestOOMKilled(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", `x=1; while true; do x=$x$x; done`)
	cfg.Resources.Memory = 32 << 20 // the race-built init alone needs more than 8 MiB
	cfg.Resources.MemorySwap = 32 << 20
	c := startContainer(t, cfg, opts)
	e := wait(t, c)
	if e.Code != 137 || !e.OOMKilled {
		t.Errorf("exit = %+v, want 137 and OOMKilled", e)
	}
}

func TestPidsLimit(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", `cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>/dev/null; wait; echo done`)
	cfg.Resources.PidsLimit = 4
	c := startContainer(t, cfg, opts)
	wait(t, c)
	out, errs := readLog(t, opts.LogPath)
	if !strings.HasPrefix(out, "4\n") {
		t.Errorf("pids.max: %q %q", out, errs)
	}
}

func TestReconnect(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	pid := c.Pid()
	c.Close()
	if _, err := c.Wait(context.Background()); err == nil {
		t.Error("closed client still works")
	}
	c2, err := Connect(context.Background(), opts.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Pid() != pid {
		t.Errorf("pid %d != %d", c2.Pid(), pid)
	}
	if err := c2.Signal(context.Background(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, c2); e.Code != 137 {
		t.Errorf("exit = %+v", e)
	}
	waitGone(t, opts.StateDir)
	if _, err := Connect(context.Background(), opts.StateDir); !errdefs.IsNotFound(err) {
		t.Errorf("connect to exited shim: %v", err)
	}
}

// TestDaemonDeath starts a container from a process that then SIGKILLs
// itself; the container and shim must keep running and be reachable.
func TestDaemonDeath(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "sleep 100; echo never")
	spec, err := runtime.Spec(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Spec = spec
	b, _ := json.Marshal(opts)
	optsFile := filepath.Join(t.TempDir(), "opts.json")
	os.WriteFile(optsFile, b, 0o600)
	cmd := exec.Command("/proc/self/exe", "test-daemon", optsFile)
	cmd.Stderr = os.Stderr
	out, _ := cmd.Output()
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("daemon output %q: %v", out, err)
	}
	if cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("daemon did not die by SIGKILL: %v", cmd.ProcessState)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("container init %d gone after daemon death: %v", pid, err)
	}
	c, err := Connect(context.Background(), opts.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Pid() != pid {
		t.Errorf("pid %d != %d", c.Pid(), pid)
	}
	if err := c.Signal(context.Background(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, c); e.Code != 137 {
		t.Errorf("exit = %+v", e)
	}
}

func TestFailedStartLeavesNothing(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		invalid bool
		want    string
	}{
		{"not in path", []string{"nosuchcmd"}, true, `exec: "nosuchcmd": executable file not found in $PATH`},
		{"missing path", []string{"/nosuch/cmd"}, true, "no such file or directory"},
		{"not executable", []string{"/etc/passwd"}, true, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, opts := newContainer(t, tt.args...)
			spec, err := runtime.Spec(*cfg)
			if err != nil {
				t.Fatal(err)
			}
			opts.Spec = spec
			if err := os.MkdirAll(opts.StateDir, 0o711); err != nil {
				t.Fatal(err)
			}
			_, err = Start(context.Background(), opts)
			if err == nil {
				t.Fatal("start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
			if tt.invalid != errdefs.IsInvalidParameter(err) {
				t.Errorf("class = %v", errdefs.ClassOf(err))
			}
			ents, _ := os.ReadDir(opts.StateDir)
			if len(ents) != 0 {
				t.Errorf("state dir holds %v", names(ents))
			}
			if shimRunning(opts.StateDir) {
				t.Error("shim still running")
			}
			for _, d := range cgroupDirs(cfg.CgroupParent) {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("cgroup dir %s left behind", d)
				}
			}
		})
	}
}

func TestStartTwiceConflicts(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	spec, _ := runtime.Spec(*cfg)
	opts.Spec = spec
	if _, err := Start(context.Background(), opts); !errdefs.IsConflict(err) {
		t.Errorf("second start: %v", err)
	}
	c.Signal(context.Background(), syscall.SIGKILL)
	wait(t, c)
	// Restart in the same state dir right after Wait returns.
	cfg.Args = []string{"true"}
	spec, _ = runtime.Spec(*cfg)
	opts.Spec = spec
	c2, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if e := wait(t, c2); e.Code != 0 {
		t.Errorf("restart exit = %+v", e)
	}
}

// TestNofileClamped starts with a zero Host (NOFILE 1048576 asked for) and
// expects the shim to fall back to its own hard limit rather than fail.
func TestNofileClamped(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "ulimit -n")
	cfg.Host = runtime.Host{}
	c := startContainer(t, cfg, opts)
	wait(t, c)
	out, _ := readLog(t, opts.LogPath)
	var own syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own)
	if want := strconv.FormatUint(min(own.Max, 1048576), 10) + "\n"; out != want {
		t.Errorf("ulimit -n = %q, want %q", out, want)
	}
}

func TestPrivilegedGetsHostCaps(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "grep CapEff /proc/self/status")
	cfg.Privileged = true
	c := startContainer(t, cfg, opts)
	if e := wait(t, c); e.Code != 0 {
		t.Fatalf("exit = %+v", e)
	}
	out, _ := readLog(t, opts.LogPath)
	st, _ := os.ReadFile("/proc/self/status")
	var bnd string
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "CapBnd:") {
			bnd = strings.TrimSpace(strings.TrimPrefix(l, "CapBnd:"))
		}
	}
	if strings.TrimSpace(strings.TrimPrefix(out, "CapEff:")) != bnd {
		t.Errorf("privileged CapEff %q, host bounding %q", out, bnd)
	}
}

func TestCloseUnblocksWait(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	done := make(chan error, 1)
	go func() { _, err := c.Wait(context.Background()); done <- err }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if errdefs.ClassOf(err) != errdefs.ClassUnavailable {
			t.Errorf("wait after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still blocked after Close")
	}
	// The container is unaffected.
	c2, err := Connect(context.Background(), opts.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	c2.Signal(context.Background(), syscall.SIGKILL)
	if e := wait(t, c2); e.Code != 137 {
		t.Errorf("exit = %+v", e)
	}
}
