package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// TestEventFilters drives events with each filter kind, --since/--until and
// --format through both CLIs, and checks that oom and health_status events
// are published.
func TestEventFilters(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c0 := clis(t, d)[0]
	since := itoa(time.Now().Add(-time.Second).Unix())
	a := testutil.UniqueName(t, "eva")
	b := testutil.UniqueName(t, "evb")
	must(t, c0, "run", "--name", a, "--label", "team=red", "busybox", "true")
	must(t, c0, "run", "--name", b, "--label", "team=blue", "busybox", "true")
	oom := testutil.UniqueName(t, "evoom")
	c0.run(t, "run", "--name", oom, "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c", "tail /dev/zero")
	health := testutil.UniqueName(t, "evhealth")
	must(t, c0, "run", "-d", "--name", health, "--health-cmd", "true", "--health-interval", "200ms", "busybox", "sleep", "100")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", a, b, oom, health) })
	waitFor(t, 10*time.Second, func() bool {
		return must(t, c0, "inspect", "-f", "{{.State.Health.Status}}", health) == "healthy"
	})
	must(t, c0, "rm", a)
	until := itoa(time.Now().Add(time.Second).Unix())
	// Events after "until" must not show: this one comes later.
	time.Sleep(1100 * time.Millisecond)
	late := testutil.UniqueName(t, "evlate")
	must(t, c0, "create", "--name", late, "--label", "team=red", "busybox", "true")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", late) })

	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			events := func(t *testing.T, args ...string) []string {
				t.Helper()
				out := must(t, c, append([]string{"events", "--since", since, "--until", until}, args...)...)
				if out == "" {
					return nil
				}
				return strings.Split(out, "\n")
			}
			tests := []struct {
				name string
				args []string
				want []string
			}{
				// An attached run attaches before it starts, as dockerd reports it.
				{"container", []string{"--filter", "container=" + a, "--format", "{{.Action}}"}, []string{"create", "attach", "start", "die", "destroy"}},
				{"container and event", []string{"-f", "container=" + a, "-f", "container=" + b, "-f", "event=die", "--format", "{{.Actor.Attributes.name}}"}, []string{a, b}},
				{"label", []string{"-f", "label=team=blue", "-f", "event=create", "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.team}}"}, []string{b + " blue"}},
				{"type and image", []string{"-f", "type=container", "-f", "image=busybox", "-f", "event=destroy", "--format", "{{.Type}} {{.Actor.Attributes.name}}"}, []string{"container " + a}},
				{"oom", []string{"-f", "event=oom", "--format", "{{.Actor.Attributes.name}}"}, []string{oom}},
				{"health_status", []string{"-f", "container=" + health, "-f", "event=health_status", "--format", "{{.Action}}"}, []string{"health_status: healthy"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := events(t, tt.args...)
					if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
						t.Fatalf("got %q, want %q", got, tt.want)
					}
				})
			}
			t.Run("json and default format", func(t *testing.T) {
				lines := events(t, "-f", "container="+b, "-f", "event=start", "--format", "json")
				if len(lines) != 1 {
					t.Fatalf("json lines %q", lines)
				}
				var m struct {
					Type, Action string
					Actor        struct{ Attributes map[string]string }
					TimeNano     int64 `json:"timeNano"`
				}
				if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m.Type != "container" || m.Action != "start" ||
					m.Actor.Attributes["name"] != b || m.TimeNano == 0 {
					t.Fatalf("json event %q: %v", lines[0], err)
				}
				plain := events(t, "-f", "container="+b, "-f", "event=start")
				if len(plain) != 1 || !strings.Contains(plain[0], " container start ") || !strings.Contains(plain[0], "name="+b) {
					t.Fatalf("default format %q", plain)
				}
			})
			t.Run("relative since", func(t *testing.T) {
				out := must(t, c, "events", "--since", "10m", "--until", until, "-f", "container="+a, "-f", "event=create", "--format", "{{.Actor.Attributes.name}}")
				if out != a {
					t.Fatalf("--since 10m: %q", out)
				}
			})
			t.Run("until excludes later events", func(t *testing.T) {
				if got := events(t, "-f", "container="+late); len(got) != 0 {
					t.Fatalf("events after --until: %q", got)
				}
			})
			t.Run("bad filter", func(t *testing.T) {
				_, stderr, code := c.run(t, "events", "--until", until, "-f", "bogus=1")
				if code == 0 || !strings.Contains(stderr, "invalid filter 'bogus'") {
					t.Fatalf("exit %d: %s", code, stderr)
				}
			})
		})
	}
}

// TestTopPsOptions: top passes ps options through and keeps only the
// container's processes.
func TestTopPsOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "topaux")
			must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", "sleep 100 & exec sleep 101")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			waitFor(t, 5*time.Second, func() bool { return strings.Count(must(t, c, "top", name), "sleep") == 2 })
			out := must(t, c, "top", name, "aux")
			lines := strings.Split(out, "\n")
			if f := strings.Fields(lines[0]); len(f) < 11 || f[0] != "USER" || f[1] != "PID" || f[2] != "%CPU" || f[len(f)-1] != "COMMAND" {
				t.Fatalf("top aux header %q", lines[0])
			}
			if len(lines) != 3 || !strings.Contains(out, "sleep 100") || !strings.Contains(out, "sleep 101") {
				t.Fatalf("top aux:\n%s", out)
			}
			out = must(t, c, "top", name, "-o", "pid,comm,args")
			if lines := strings.Split(out, "\n"); len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "PID COMMAND COMMAND" {
				t.Fatalf("top -o pid,comm,args:\n%s", out)
			}
			_, stderr, code := c.run(t, "top", name, "--no-such-ps-option")
			if code == 0 || !strings.Contains(stderr, "Error response from daemon: ps: error: unknown gnu long option") {
				t.Fatalf("bad ps option: exit %d: %s", code, stderr)
			}
		})
	}
}

// TestStatsFormats: --format table with custom columns, and json with
// Docker's keys, through both CLIs.
func TestStatsFormats(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "statsfmt")
			must(t, c, "run", "-d", "--name", name, "busybox", "sleep", "100")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			out := must(t, c, "stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", name)
			lines := strings.Split(out, "\n")
			if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME PIDS" || strings.Join(strings.Fields(lines[1]), " ") != name+" 1" {
				t.Fatalf("table format:\n%s", out)
			}
			var m map[string]string
			if err := json.Unmarshal([]byte(must(t, c, "stats", "--no-stream", "--format", "json", name)), &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"} {
				if _, ok := m[k]; !ok {
					t.Errorf("json lacks %s: %v", k, m)
				}
			}
			if len(m) != 9 || m["Name"] != name || m["Container"] != name {
				t.Errorf("json %v", m)
			}
		})
	}
}
