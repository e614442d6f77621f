package integration

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"berth/internal/testutil"
)

// trapper logs one line per USR1 or HUP it gets and exits 0 on USR2.
const trapper = `trap 'echo usr1' USR1; trap 'echo hup' HUP; trap 'echo bye; exit 0' USR2; echo ready; while true; do sleep 0.05; done`

func waitLogs(t *testing.T, c cli, name, want string, n int) {
	t.Helper()
	var out string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if out = must(t, c, "logs", name); strings.Count(out, want) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("want %d x %q in the logs of %s:\n%s", n, want, name, out)
}

// TestStopSignalAndKill: --stop-signal, --stop-timeout and kill -s with
// names and numbers, checked by what the container's shell traps.
func TestStopSignalAndKill(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			t.Run("kill -s names and numbers", func(t *testing.T) {
				name := testutil.UniqueName(t, "kill")
				must(t, c, "run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", trapper)
				t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
				waitLogs(t, c, name, "ready", 1)
				for i, sig := range []string{"USR1", "SIGUSR1", "10", "usr1"} {
					must(t, c, "kill", "-s", sig, name)
					waitLogs(t, c, name, "usr1", i+1)
				}
				must(t, c, "kill", "--signal", "1", name)
				waitLogs(t, c, name, "hup", 1)
				if st := must(t, c, "inspect", "-f", "{{.State.Status}}", name); st != "running" {
					t.Fatalf("status %s after trapped signals", st)
				}
				_, stderr, code := c.run(t, "kill", "-s", "NOPE", name)
				if code != 1 || !strings.Contains(stderr, "Invalid signal: NOPE") {
					t.Fatalf("unknown signal: exit %d, %q", code, stderr)
				}
				// A kill ends the restart policy, as a stop does (Docker:
				// any signal when no stop signal is configured).
				must(t, c, "kill", "-s", "USR2", name)
				waitFor(t, 5*time.Second, func() bool {
					return must(t, c, "inspect", "-f", "{{.State.Status}}", name) == "exited"
				})
				time.Sleep(500 * time.Millisecond)
				if got := must(t, c, "inspect", "-f", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", name); got != "exited 0 0" {
					t.Fatalf("after kill: %s, want exited 0 0 (no restart)", got)
				}
			})
			t.Run("stop-signal", func(t *testing.T) {
				name := testutil.UniqueName(t, "stopsig")
				must(t, c, "run", "-d", "--name", name, "--stop-signal", "SIGUSR2", "busybox", "sh", "-c", trapper)
				t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
				waitLogs(t, c, name, "ready", 1)
				if got := must(t, c, "inspect", "-f", "{{.Config.StopSignal}}", name); got != "SIGUSR2" {
					t.Fatalf("StopSignal %q", got)
				}
				start := time.Now()
				must(t, c, "stop", name)
				if el := time.Since(start); el > 5*time.Second {
					t.Fatalf("stop took %v", el)
				}
				waitLogs(t, c, name, "bye", 1)
				if got := must(t, c, "inspect", "-f", "{{.State.ExitCode}}", name); got != "0" {
					t.Fatalf("exit code %s, want 0 (trapped the stop signal)", got)
				}
			})
			t.Run("stop-timeout", func(t *testing.T) {
				name := testutil.UniqueName(t, "stoptmo")
				// PID 1 without a TERM handler ignores TERM: only the kill
				// after the timeout ends it.
				must(t, c, "run", "-d", "--name", name, "--stop-timeout", "1", "busybox", "sh", "-c", "echo ready; while true; do sleep 0.05; done")
				t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
				waitLogs(t, c, name, "ready", 1)
				if got := must(t, c, "inspect", "-f", "{{.Config.StopTimeout}}", name); got != "1" {
					t.Fatalf("StopTimeout %q", got)
				}
				start := time.Now()
				must(t, c, "stop", name)
				if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
					t.Fatalf("stop took %v, want about 1s", el)
				}
				if got := must(t, c, "inspect", "-f", "{{.State.ExitCode}}", name); got != "137" {
					t.Fatalf("exit code %s, want 137", got)
				}
			})
			t.Run("bad stop signal", func(t *testing.T) {
				_, stderr, code := c.run(t, "create", "--stop-signal", "SIGNOPE", "busybox", "true")
				if code != 1 || !strings.Contains(stderr, "Invalid signal: SIGNOPE") {
					t.Fatalf("exit %d, %q", code, stderr)
				}
			})
		})
	}
	t.Run("API status", func(t *testing.T) {
		api := d.Client(t)
		name := testutil.UniqueName(t, "killapi")
		must(t, clis(t, d)[0], "run", "-d", "--name", name, "busybox", "sleep", "100")
		t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
		_, err := api.ContainerKill(context.Background(), name, client.ContainerKillOptions{Signal: "NOPE"})
		if err == nil || !strings.Contains(err.Error(), "Invalid signal: NOPE") {
			t.Fatalf("kill NOPE: %v", err)
		}
		if code := rawStatus(t, d, "POST", "/containers/"+name+"/kill?signal=NOPE"); code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", code)
		}
	})
}

// rawStatus sends a bodiless request to the daemon's socket and returns the
// HTTP status.
func rawStatus(t *testing.T, d *testutil.Daemon, method, path string) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.Socket)
	}}}
	req, err := http.NewRequest(method, "http://berth"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
