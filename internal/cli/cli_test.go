package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
		code   int
	}{
		{
			name:   "min args",
			args:   []string{"rm"},
			stderr: "berth: 'berth rm' requires at least 1 argument\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth rm --help' for more information\n",
			code:   1,
		},
		{
			name:   "exact args",
			args:   []string{"rename", "a"},
			stderr: "berth: 'berth rename' requires 2 arguments\n\nUsage:  berth rename CONTAINER NEW_NAME\n\nRun 'berth rename --help' for more information\n",
			code:   1,
		},
		{
			name:   "exact one",
			args:   []string{"logs", "a", "b"},
			stderr: "berth: 'berth logs' requires 1 argument\n\nUsage:  berth logs [OPTIONS] CONTAINER\n\nRun 'berth logs --help' for more information\n",
			code:   1,
		},
		{
			name:   "no args",
			args:   []string{"ps", "x"},
			stderr: "berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n",
			code:   1,
		},
		{
			name:   "max args",
			args:   []string{"images", "a", "b"},
			stderr: "berth: 'berth images' requires at most 1 argument\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'berth images --help' for more information\n",
			code:   1,
		},
		{
			name:   "unknown flag",
			args:   []string{"run", "--foo", "x"},
			stderr: "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n",
			code:   125,
		},
		{
			name:   "flag needs argument",
			args:   []string{"ps", "-n"},
			stderr: "flag needs an argument: 'n' in -n\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n",
			code:   125,
		},
		{
			name:   "bad memory",
			args:   []string{"run", "-m", "lots", "busybox"},
			stderr: "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n",
			code:   125,
		},
		{
			name:   "unknown command",
			args:   []string{"frobnicate"},
			stderr: "berth: unknown command: berth frobnicate\n\nRun 'berth --help' for more information\n",
			code:   1,
		},
		{
			name:   "unknown subcommand",
			args:   []string{"container", "frobnicate"},
			stderr: "berth: unknown command: berth container frobnicate\n\nRun 'berth container --help' for more information\n",
			code:   1,
		},
		{
			name:   "group alias arg check",
			args:   []string{"image", "rm"},
			stderr: "berth: 'berth image rm' requires at least 1 argument\n\nUsage:  berth image rm [OPTIONS] IMAGE [IMAGE...]\n\nSee 'berth image rm --help' for more information\n",
			code:   1,
		},
		{
			name:   "restart conflicts with rm",
			args:   []string{"run", "--rm", "--restart", "always", "busybox"},
			stderr: "berth: conflicting options: cannot specify both --restart and --rm\n\nRun 'berth run --help' for more information\n",
			code:   125,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An unreachable host proves usage errors never dial.
			args := append([]string{"-H", "unix:///nonexistent/berth.sock"}, tt.args...)
			out, stderr, code := runCLI(t, "", args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d", code, tt.code)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr =\n%q\nwant\n%q", stderr, tt.stderr)
			}
			if out != "" {
				t.Errorf("stdout = %q, want empty", out)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	out, _, code := runCLI(t, "", "-v")
	if code != 0 || out != "berth version "+Version+", build "+GitCommit+"\n" {
		t.Fatalf("got %q (%d)", out, code)
	}
}

func TestHelpListsAliases(t *testing.T) {
	out, _, code := runCLI(t, "", "rm", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Usage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more containers\n",
		"Aliases:\n  berth container rm, berth container remove, berth rm\n",
		"  -f, --force ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--help") {
		t.Errorf("help lists --help:\n%s", out)
	}
}

func TestHostSelection(t *testing.T) {
	tests := []struct {
		name       string
		flag       []string
		berth, dkr string
		want       string
	}{
		{"default", nil, "", "", DefaultHost},
		{"docker host", nil, "", "unix:///d.sock", "unix:///d.sock"},
		{"berth host wins", nil, "unix:///b.sock", "unix:///d.sock", "unix:///b.sock"},
		{"flag wins", []string{"unix:///f.sock"}, "unix:///b.sock", "unix:///d.sock", "unix:///f.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_HOST", tt.berth)
			t.Setenv("DOCKER_HOST", tt.dkr)
			c := &berthCLI{hosts: tt.flag}
			if got := c.host(); got != tt.want {
				t.Errorf("host() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConnectionErrorWording(t *testing.T) {
	_, stderr, code := runCLI(t, "", "-H", "unix:///nonexistent/berth.sock", "ps")
	want := "Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n"
	if code != 1 || stderr != want {
		t.Fatalf("got %q (%d), want %q", stderr, code, want)
	}
	_, stderr, code = runCLI(t, "", "-H", "unix:///nonexistent/berth.sock", "run", "busybox")
	want = "berth: Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n\nRun 'berth run --help' for more information\n"
	if code != 125 || stderr != want {
		t.Fatalf("run: got %q (%d), want %q", stderr, code, want)
	}
}

func TestMultiTargetErrors(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("DELETE /containers/good", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	d.handle("DELETE /containers/bad", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "No such container: bad")
	})
	out, stderr, code := d.run("", "rm", "good", "bad", "good")
	if out != "good\ngood\n" {
		t.Errorf("stdout = %q", out)
	}
	if stderr != "Error response from daemon: No such container: bad\n" || code != 1 {
		t.Errorf("stderr = %q, code %d", stderr, code)
	}
	// rm -f ignores missing containers, as Docker does.
	out, stderr, code = d.run("", "rm", "-f", "bad")
	if out != "" || stderr != "" || code != 0 {
		t.Errorf("rm -f missing: %q %q %d", out, stderr, code)
	}
}

func TestStartReportsFailures(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("POST /containers/a/start", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	d.handle("POST /containers/b/start", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "No such container: b")
	})
	out, stderr, code := d.run("", "start", "a", "b")
	if out != "a\n" || code != 1 {
		t.Errorf("out %q code %d", out, code)
	}
	want := "Error response from daemon: No such container: b\nError: failed to start containers: b\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestStopPassesTimeoutAndSignal(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("POST /containers/x/stop", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	out, _, code := d.run("", "stop", "-t", "3", "-s", "SIGUSR1", "x")
	if out != "x\n" || code != 0 {
		t.Fatalf("out %q code %d", out, code)
	}
	calls := d.callList()
	last := calls[len(calls)-1]
	if !strings.Contains(last, "t=3") || !strings.Contains(last, "signal=SIGUSR1") {
		t.Errorf("stop query = %s", last)
	}
}

func TestRmi(t *testing.T) {
	d := newFakeDaemon(t)
	d.json("DELETE /images/busybox", 200, []map[string]string{{"Untagged": "busybox:latest"}, {"Deleted": "sha256:abc"}})
	out, _, code := d.run("", "rmi", "busybox")
	if code != 0 || out != "Untagged: busybox:latest\nDeleted: sha256:abc\n" {
		t.Fatalf("got %q (%d)", out, code)
	}
}

func TestWaitPrintsStatus(t *testing.T) {
	d := newFakeDaemon(t)
	d.json("POST /containers/x/wait", 200, map[string]any{"StatusCode": 7})
	out, _, code := d.run("", "wait", "x")
	if code != 0 || out != "7\n" {
		t.Fatalf("got %q (%d)", out, code)
	}
}

func TestEventsDefaultLine(t *testing.T) {
	d := newFakeDaemon(t)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	d.handle("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		_ = enc.Encode(map[string]any{
			"Type": "container", "Action": "create", "Actor": map[string]any{"ID": "abc", "Attributes": map[string]string{"name": "web", "image": "busybox"}},
			"time": ts.Unix(), "timeNano": ts.UnixNano(),
		})
	})
	out, _, code := d.run("", "events", "--until", "0")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := ts.Local().Format(rfc3339NanoFixed) + " container create abc (image=busybox, name=web)\n"
	if out != want {
		t.Fatalf("got %q want %q", out, want)
	}
}

func TestLogsDemuxes(t *testing.T) {
	d := newFakeDaemon(t)
	d.json("GET /containers/web/json", 200, map[string]any{"Id": "abc", "Config": map[string]any{"Tty": false}})
	d.handle("GET /containers/abc/logs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		_, _ = w.Write([]byte{1, 0, 0, 0, 0, 0, 0, 4, 'o', 'u', 't', '\n', 2, 0, 0, 0, 0, 0, 0, 4, 'e', 'r', 'r', '\n'})
	})
	out, stderr, code := d.run("", "logs", "--tail", "5", "web")
	if code != 0 || out != "out\n" || stderr != "err\n" {
		t.Fatalf("got %q %q (%d)", out, stderr, code)
	}
	last := d.callList()[len(d.callList())-1]
	if !strings.Contains(last, "tail=5") || !strings.Contains(last, "stdout=1") {
		t.Errorf("logs query %s", last)
	}
}
