package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"berth/internal/testutil"
)

// capEff is the CapEff line of a /proc/<pid>/status text.
func capEff(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestExec(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "exec")
			id := must(t, c, "run", "-d", "--name", name, "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })

			t.Run("exit code", func(t *testing.T) {
				if _, stderr, code := c.run(t, "exec", name, "sh", "-c", "echo out; echo err >&2; exit 5"); code != 5 || !strings.Contains(stderr, "err") {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
			})
			t.Run("env workdir user", func(t *testing.T) {
				got := must(t, c, "exec", "-e", "A=1", "-w", "/tmp", "-u", "nobody", name, "sh", "-c", "echo $A; pwd; id -u")
				if got != "1\n/tmp\n65534" {
					t.Fatalf("got %q", got)
				}
			})
			t.Run("namespaces and cgroup", func(t *testing.T) {
				ps := must(t, c, "exec", name, "ps")
				var first string
				for _, line := range strings.Split(ps, "\n")[1:] {
					if f := strings.Fields(line); len(f) > 0 && f[0] == "1" {
						first = line
					}
				}
				if !strings.Contains(first, "sleep 1000") {
					t.Fatalf("pid 1 is not the container's init:\n%s", ps)
				}
				pid := must(t, c, "inspect", "-f", "{{.State.Pid}}", name)
				host, err := os.ReadFile("/proc/" + pid + "/cgroup")
				if err != nil {
					t.Fatal(err)
				}
				status, err := os.ReadFile("/proc/" + pid + "/status")
				if err != nil {
					t.Fatal(err)
				}
				if got, want := must(t, c, "exec", name, "grep", "CapEff", "/proc/self/status"), "CapEff:\t"+capEff(string(status)); got != want {
					t.Fatalf("exec CapEff %q, container %q", got, want)
				}
				// The host's view of an exec'd process: run one in the
				// background (a duration unique to this CLI) and find it.
				secs := fmt.Sprint(70 + len(c.name))
				must(t, c, "exec", "-d", name, "sleep", secs)
				execPid := waitForProc(t, "sleep "+secs)
				mine, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", execPid))
				if err != nil {
					t.Fatal(err)
				}
				if string(mine) != string(host) {
					t.Fatalf("exec cgroups\n%s\ncontainer cgroups\n%s", mine, host)
				}
				for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net"} {
					a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", execPid, ns))
					b, _ := os.Readlink("/proc/" + pid + "/ns/" + ns)
					if a != b || a == "" {
						t.Fatalf("ns %s: exec %q, container %q", ns, a, b)
					}
				}
			})
			t.Run("inspect and events", func(t *testing.T) {
				since := time.Now().Add(-time.Second).Unix()
				if _, _, code := c.run(t, "exec", name, "sh", "-c", "exit 3"); code != 3 {
					t.Fatalf("exit %d", code)
				}
				until := time.Now().Add(time.Second).Unix()
				got := must(t, c, "events", "--since", fmt.Sprint(since), "--until", fmt.Sprint(until),
					"--filter", "container="+id, "--format", "{{.Action}} {{index .Actor.Attributes \"exitCode\"}}")
				for _, want := range []string{"exec_create: sh -c exit 3", "exec_start: sh -c exit 3", "exec_die 3"} {
					if !strings.Contains(got, want) {
						t.Fatalf("events lack %q:\n%s", want, got)
					}
				}
				api := d.Client(t)
				res, err := api.ExecCreate(t.Context(), id, client.ExecCreateOptions{Cmd: []string{"sleep", "0.3"}})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := api.ExecStart(t.Context(), res.ID, client.ExecStartOptions{Detach: true}); err != nil {
					t.Fatal(err)
				}
				ins, err := api.ExecInspect(t.Context(), res.ID, client.ExecInspectOptions{})
				if err != nil || !ins.Running || ins.PID <= 0 || ins.ContainerID != id {
					t.Fatalf("inspect while running: %+v %v", ins, err)
				}
				deadline := time.Now().Add(5 * time.Second)
				for ins.Running && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
					if ins, err = api.ExecInspect(t.Context(), res.ID, client.ExecInspectOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				if ins.Running || ins.ExitCode != 0 {
					t.Fatalf("inspect after exit: %+v", ins)
				}
				if _, err := api.ExecStart(t.Context(), res.ID, client.ExecStartOptions{Detach: true}); err == nil || !strings.Contains(err.Error(), "has already run") {
					t.Fatalf("second start: %v", err)
				}
			})
			t.Run("privileged", func(t *testing.T) {
				got := must(t, c, "exec", "--privileged", name, "grep", "CapEff", "/proc/self/status")
				if strings.HasSuffix(got, "00000000a80425fb") {
					t.Fatalf("privileged exec got the default caps: %q", got)
				}
			})
			t.Run("not found", func(t *testing.T) {
				stdout, stderr, code := c.run(t, "exec", name, "nosuchcmd")
				if code != 127 || !strings.Contains(stdout+stderr, `OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown`) {
					t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
				}
			})
			t.Run("stdin", func(t *testing.T) {
				var stdout string
				var code int
				if c.name == "berth" {
					stdout, _, code = d.BerthInput(t, "hi\nthere\n", "exec", "-i", name, "cat")
				} else {
					stdout, _, code = d.DockerInput(t, "hi\nthere\n", "exec", "-i", name, "cat")
				}
				if code != 0 || stdout != "hi\nthere\n" {
					t.Fatalf("exit %d, stdout %q", code, stdout)
				}
			})
			t.Run("tty", func(t *testing.T) {
				// The interactive cases are in tty_test.go.
				stdout, stderr, code := c.run(t, "exec", "-t", name, "echo", "hi")
				if code != 0 || stdout != "hi\r\n" {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
			})
			t.Run("paused", func(t *testing.T) {
				must(t, c, "pause", name)
				_, stderr, code := c.run(t, "exec", name, "true")
				must(t, c, "unpause", name)
				if code != 1 || !strings.Contains(stderr, "is paused, unpause the container before exec") {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
			})
			t.Run("stopped", func(t *testing.T) {
				stopped := must(t, c, "create", "busybox", "true")
				t.Cleanup(func() { d.Berth(t, "rm", "-f", stopped) })
				_, stderr, code := c.run(t, "exec", stopped, "true")
				if code != 1 || !strings.Contains(stderr, "container "+stopped+" is not running") {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
				_, stderr, code = c.run(t, "exec", "nosuch-"+name, "true")
				if code != 1 || !strings.Contains(stderr, "No such container") {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
			})
		})
	}
}

// waitForProc finds the host pid of the one process whose command line is
// cmdline.
func waitForProc(t *testing.T, cmdline string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
				continue
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err == nil && strings.Join(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), " ") == cmdline {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no process %q", cmdline)
	return 0
}
