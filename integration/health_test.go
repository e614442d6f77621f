package integration

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// waitHealth polls fn until it returns true or the deadline passes; the
// bounds are generous because probes share two noisy cores.
func waitHealth(t *testing.T, within time.Duration, what string, fn func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := fn()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not reached within %v; last: %s", what, within, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestHealthcheck(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			since := time.Now().Unix()
			name := testutil.UniqueName(t, "health")
			id := must(t, c, "run", "-d", "--name", name, "--health-cmd", "test -f /tmp/ok",
				"--health-interval", "1s", "--health-retries", "2", "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			status := func() string { return must(t, c, "inspect", "-f", "{{.State.Health.Status}}", name) }

			if got := status(); got != "starting" && got != "unhealthy" {
				t.Fatalf("initial health %q", got)
			}
			waitHealth(t, 30*time.Second, "unhealthy", func() (bool, string) { s := status(); return s == "unhealthy", s })
			if got := must(t, c, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasSuffix(got, "(unhealthy)") {
				t.Fatalf("ps status %q", got)
			}
			must(t, c, "exec", name, "touch", "/tmp/ok")
			waitHealth(t, 30*time.Second, "healthy", func() (bool, string) { s := status(); return s == "healthy", s })
			if got := must(t, c, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasPrefix(got, "Up ") || !strings.HasSuffix(got, "(healthy)") {
				t.Fatalf("ps status %q", got)
			}
			if got := must(t, c, "ps", "-q", "--no-trunc", "--filter", "health=healthy", "--filter", "name="+name); got != id {
				t.Fatalf("health filter: %q", got)
			}
			if got := must(t, c, "ps", "-q", "--filter", "health=unhealthy", "--filter", "name="+name); got != "" {
				t.Fatalf("health=unhealthy filter: %q", got)
			}
			log := must(t, c, "inspect", "-f", "{{len .State.Health.Log}} {{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}", name)
			if f := strings.Fields(log); len(f) != 3 || f[1] != "0" || f[2] != "1" {
				t.Fatalf("health log summary %q", log)
			}
			until := strconv.FormatInt(time.Now().Unix()+1, 10)
			ev := must(t, c, "events", "--since", strconv.FormatInt(since, 10), "--until", until,
				"--filter", "container="+name, "--format", "{{.Action}}")
			for _, want := range []string{"health_status: unhealthy", "health_status: healthy"} {
				if !strings.Contains(ev, want) {
					t.Errorf("events lack %q:\n%s", want, ev)
				}
			}
		})
	}
}

func TestHealthcheckTimeoutAndNone(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "hnone")
			must(t, c, "create", "--name", name, "--no-healthcheck", "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			if got := must(t, c, "inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.State.Health}}", name); got != `["NONE"] <nil>` {
				t.Fatalf("--no-healthcheck: %q", got)
			}
			must(t, c, "start", name)
			if got := must(t, c, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); strings.Contains(got, "health") {
				t.Fatalf("ps status %q", got)
			}

			slow := testutil.UniqueName(t, "hslow")
			must(t, c, "run", "-d", "--name", slow, "--health-cmd", "sleep 30", "--health-interval", "1s",
				"--health-timeout", "1s", "--health-retries", "1", "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", slow) })
			waitHealth(t, 30*time.Second, "unhealthy by timeout", func() (bool, string) {
				s := must(t, c, "inspect", "-f", "{{.State.Health.Status}}", slow)
				return s == "unhealthy", s
			})
			out := must(t, c, "inspect", "-f", "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}", slow)
			if !strings.Contains(out, "-1 Health check exceeded timeout (1s)") {
				t.Fatalf("timeout result %q", out)
			}
		})
	}
}

// TestHealthOnFailure covers berth's --health-on-failure (berth's CLI only;
// the Docker CLI spells it as the label).
func TestHealthOnFailure(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	name := testutil.UniqueName(t, "hfail")
	must(t, c, "run", "-d", "--name", name, "--health-cmd", "false", "--health-interval", "1s",
		"--health-retries", "1", "--health-on-failure", "kill", "busybox", "sleep", "1000")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
	waitHealth(t, 30*time.Second, "killed", func() (bool, string) {
		s := must(t, c, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name)
		return s == "exited unhealthy", s
	})
	if _, stderr, code := c.run(t, "run", "--rm", "--health-on-failure", "bogus", "busybox", "true"); code == 0 || !strings.Contains(stderr, "health-on-failure") {
		t.Fatalf("bogus action accepted: %d %s", code, stderr)
	}
}

// TestImageHealthcheck: an image's HEALTHCHECK applies, and --health-*
// flags override only the fields they set.
func TestImageHealthcheck(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	ref := "hc-image:" + strings.ToLower(testutil.UniqueName(t, "v"))
	if _, stderr, code := d.Berth(t, "import", "-c", "HEALTHCHECK --interval=1s --retries=1 CMD true", testutil.BusyboxRootfsTar(t), ref); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "himg")
			must(t, c, "run", "-d", "--name", name, "--health-timeout", "5s", ref, "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			if got := must(t, c, "inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Timeout}}", name); got != `["CMD-SHELL","true"] 1s 5s` {
				t.Fatalf("merged healthcheck %q", got)
			}
			waitHealth(t, 30*time.Second, "healthy", func() (bool, string) {
				s := must(t, c, "inspect", "-f", "{{.State.Health.Status}}", name)
				return s == "healthy", s
			})
		})
	}
}
