package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// TestRegistryPushPullRoundTrip: import → tag → push → rmi → pull → run,
// through both CLIs against a plain local registry; image IDs survive,
// a second push sends nothing, a push to another repository mounts.
func TestRegistryPushPullRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
			src := "src-" + c.name
			d.ImportBusybox(t, src)
			ref := reg.Host + "/" + c.name + "/busybox:1"
			must(t, c, "tag", src, ref)
			id := must(t, c, "image", "inspect", "-f", "{{.Id}}", ref)
			out := must(t, c, "push", ref)
			for _, want := range []string{"The push refers to repository [" + reg.Host + "/" + c.name + "/busybox]", ": Pushed", "1: digest: sha256:"} {
				if !strings.Contains(out, want) {
					t.Fatalf("push output lacks %q:\n%s", want, out)
				}
			}
			if out := must(t, c, "push", ref); !strings.Contains(out, "Layer already exists") {
				t.Fatalf("second push re-sent layers:\n%s", out)
			}
			must(t, c, "rmi", ref, src)
			out = must(t, c, "pull", ref)
			for _, want := range []string{"1: Pulling from " + c.name + "/busybox", "Pull complete", "Digest: sha256:", "Status: Downloaded newer image for " + ref, ref} {
				if !strings.Contains(out, want) {
					t.Fatalf("pull output lacks %q:\n%s", want, out)
				}
			}
			if got := must(t, c, "image", "inspect", "-f", "{{.Id}}", ref); got != id {
				t.Fatalf("image ID changed over push/pull: %s -> %s", id, got)
			}
			if digests := must(t, c, "image", "inspect", "-f", "{{.RepoDigests}}", ref); !strings.Contains(digests, reg.Host+"/"+c.name+"/busybox@sha256:") {
				t.Fatalf("RepoDigests %s", digests)
			}
			if out := must(t, c, "pull", ref); !strings.Contains(out, "Status: Image is up to date for "+ref) {
				t.Fatalf("second pull:\n%s", out)
			}
			if got := must(t, c, "run", "--rm", ref, "echo", "pulled"); got != "pulled" {
				t.Fatalf("run of the pulled image: %q", got)
			}
			// Another repository on the same registry: the blob is mounted.
			other := reg.Host + "/" + c.name + "/copy:2"
			must(t, c, "tag", ref, other)
			if out := must(t, c, "push", other); !strings.Contains(out, "Mounted from "+c.name+"/busybox") {
				t.Fatalf("cross-repository push did not mount:\n%s", out)
			}
			// run pulls what is missing, as Docker's does.
			must(t, c, "rmi", other, ref)
			stdout, stderr, code := c.run(t, "run", "--rm", other, "echo", "auto")
			if code != 0 || strings.TrimSpace(stdout) != "auto" || !strings.Contains(stderr, "Unable to find image '"+other+"' locally") {
				t.Fatalf("run with a missing image: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
			}
			must(t, c, "rmi", other)
		})
	}
}

// TestRegistryPullErrors: Docker's wording for bad references and unknown
// images, and nothing stored.
func TestRegistryPullErrors(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := c.run(t, "pull", reg.Host+"/nope/missing:1")
			if code == 0 || !strings.Contains(stderr, "manifest unknown") {
				t.Fatalf("unknown image: exit %d %s", code, stderr)
			}
			_, stderr, code = c.run(t, "pull", reg.Host+"/Bad:x")
			if code == 0 || !strings.Contains(stderr, "invalid reference format") {
				t.Fatalf("bad reference: exit %d %s", code, stderr)
			}
		})
	}
	// The API answers a malformed reference with 400 before any stream.
	resp := apiRequest(t, d, http.MethodPost, "/images/create?fromImage=Bad&tag=latest", "")
	if resp.code != http.StatusBadRequest || !strings.Contains(resp.body, "invalid reference format") {
		t.Fatalf("POST /images/create?fromImage=Bad: %d %s", resp.code, resp.body)
	}
	resp = apiRequest(t, d, http.MethodPost, "/images/create?fromImage="+reg.Host+"/nope/x&tag=1", "")
	if resp.code != http.StatusNotFound || !strings.Contains(resp.body, "manifest for "+reg.Host+"/nope/x:1 not found: manifest unknown: manifest unknown") {
		t.Fatalf("unknown manifest: %d %s", resp.code, resp.body)
	}
	if out, _, _ := d.Berth(t, "images", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("failed pulls stored images: %q", out)
	}
}

// TestRegistrySearch: /v2/_catalog filtered by the term, through both CLIs.
func TestRegistrySearch(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "src")
	b := clis(t, d)[0]
	for _, repo := range []string{"team/web", "team/db", "other/tool"} {
		must(t, b, "tag", "src", reg.Host+"/"+repo+":1")
		must(t, b, "push", "-q", reg.Host+"/"+repo+":1")
	}
	for _, c := range clis(t, d) {
		out := must(t, c, "search", reg.Host+"/team")
		if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, reg.Host+"/team/web") || !strings.Contains(out, reg.Host+"/team/db") || strings.Contains(out, "other/tool") {
			t.Fatalf("%s search:\n%s", c.name, out)
		}
		if out := must(t, c, "search", "--limit", "1", "--format", "{{.Name}}", reg.Host+"/team"); strings.Count(out, "\n") != 0 || out == "" {
			t.Fatalf("%s search --limit 1: %q", c.name, out)
		}
	}
}

type apiResponse struct {
	code int
	body string
}

// apiRequest sends one raw Engine API request to the daemon's socket.
func apiRequest(t *testing.T, d *testutil.Daemon, method, path, body string) apiResponse {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.Socket)
	}}}
	req, err := http.NewRequest(method, "http://berth"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{resp.StatusCode, string(b)}
}
