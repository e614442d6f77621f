package integration

import (
	"strings"
	"testing"

	"berth/internal/testutil"
)

// TestBuildPullsBaseImage: FROM of an image that is only in a registry
// pulls it first, as Docker's classic builder does; --pull pulls again even
// when a local image of that name exists and builds on the registry's.
func TestBuildPullsBaseImage(t *testing.T) {
	d := buildDaemon(t)
	testutil.RequiresRegistry(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := reg.Host + "/" + c.name + "/base:1"
			must(t, c, "tag", "busybox", ref)
			must(t, c, "push", ref)
			must(t, c, "rmi", ref)

			dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN echo built > /built\n"})
			out := must(t, c, "build", "-t", "pulled-"+c.name, dir)
			if !strings.Contains(out, "Pulling from "+c.name+"/base") {
				t.Fatalf("build did not pull its base image:\n%s", out)
			}
			if got := must(t, c, "run", "--rm", "pulled-"+c.name, "cat", "/built"); got != "built" {
				t.Fatalf("built image has /built = %q", got)
			}
			must(t, c, "image", "inspect", ref)

			// A local image of the same name that differs from the
			// registry's: --pull builds on the registry's again.
			stale := writeFiles(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo stale > /stale\n"})
			must(t, c, "build", "-t", ref, stale)
			out = must(t, c, "build", "--pull", "-t", "repulled-"+c.name, dir)
			if !strings.Contains(out, "Pulling from "+c.name+"/base") {
				t.Fatalf("--pull did not pull:\n%s", out)
			}
			if _, _, code := c.run(t, "run", "--rm", "repulled-"+c.name, "test", "-e", "/stale"); code == 0 {
				t.Fatal("--pull built on the stale local image")
			}
			for _, img := range []string{"pulled-" + c.name, "repulled-" + c.name, ref} {
				c.run(t, "rmi", "-f", img)
			}
		})
	}
}
