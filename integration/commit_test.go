package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"berth/internal/testutil"
)

// TestCommitRoundTrip commits a running container's changes with -a -m -c
// and checks the new image by its content, config, layers and history.
func TestCommitRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	api := d.Client(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			box := testutil.UniqueName(t, "commit")
			must(t, c, "run", "-d", "--name", box, "-e", "FROM_RUN=1", "busybox", "sh", "-c",
				"echo committed > /data.txt; mkdir -p /srv/app; echo nested > /srv/app/f; rm /etc/group; sleep 1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", box) })
			waitFor(t, 10*time.Second, func() bool {
				out, _, _ := c.run(t, "exec", box, "cat", "/srv/app/f")
				return strings.TrimSpace(out) == "nested"
			})
			ref := "committed-" + c.name + ":v2"
			id := must(t, c, "commit", "-a", "Tester <t@example.com>", "-m", "with data",
				"-c", `CMD ["cat", "/data.txt"]`, "-c", "ENV ADDED=yes", "-c", "LABEL team=core", box, ref)
			if !strings.HasPrefix(id, "sha256:") {
				t.Fatalf("commit printed %q", id)
			}
			// The container was paused only for the commit.
			if st := must(t, c, "inspect", "-f", "{{.State.Status}}", box); st != "running" {
				t.Fatalf("container after commit: %s", st)
			}
			if got := must(t, c, "run", "--rm", ref); got != "committed" {
				t.Fatalf("CMD of the committed image: %q", got)
			}
			got := must(t, c, "run", "--rm", ref, "sh", "-c", `cat /srv/app/f; echo $ADDED $FROM_RUN; test -e /etc/group || echo gone`)
			if got != "nested\nyes 1\ngone" {
				t.Fatalf("content of the committed image: %q", got)
			}
			insp, err := api.ImageInspect(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if insp.Author != "Tester <t@example.com>" || insp.Comment != "with data" || insp.Config.Labels["team"] != "core" {
				t.Fatalf("author %q comment %q labels %v", insp.Author, insp.Comment, insp.Config.Labels)
			}
			if n := len(insp.RootFS.Layers); n != 2 {
				t.Fatalf("committed image has %d layers, want 2", n)
			}
			must(t, c, "rmi", ref)
		})
	}
}

// TestCommitBadInput: a removed container is 404, a bad change is 400, and
// a stopped container commits without pausing.
func TestCommitBadInput(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			box := testutil.UniqueName(t, "gone")
			must(t, c, "run", "--name", box, "busybox", "sh", "-c", "echo x > /x")
			must(t, c, "rm", box)
			_, stderr, code := c.run(t, "commit", box, "never:1")
			if code == 0 || !strings.Contains(stderr, "No such container: "+box) {
				t.Fatalf("commit of a removed container: exit %d %q", code, stderr)
			}
			box2 := testutil.UniqueName(t, "stopped")
			must(t, c, "run", "--name", box2, "busybox", "sh", "-c", "echo y > /y")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", box2) })
			_, stderr, code = c.run(t, "commit", "-c", "FROB x", box2, "never:2")
			if code == 0 || !strings.Contains(strings.ToLower(stderr), "frob") {
				t.Fatalf("bad change: exit %d %q", code, stderr)
			}
			id := must(t, c, "commit", box2)
			if got := must(t, c, "run", "--rm", id, "cat", "/y"); got != "y" {
				t.Fatalf("untagged commit: %q", got)
			}
			must(t, c, "rmi", id)
		})
	}
	_, err := d.Client(t).ContainerCommit(context.Background(), "nope", client.ContainerCommitOptions{})
	if err == nil || !strings.Contains(err.Error(), "No such container: nope") {
		t.Fatalf("API commit of an unknown container: %v", err)
	}
}
