package cli

import (
	"bytes"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func sampleContainers() []container.Summary {
	return []container.Summary{
		{
			ID:      "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
			Names:   []string{"/web"},
			Image:   "nginx:latest",
			Command: "/docker-entrypoint.sh nginx -g 'daemon off;'",
			Created: fixedNow.Add(-2 * time.Minute).Unix(),
			State:   "running",
			Status:  "Up 2 minutes",
			Ports: []container.PortSummary{
				{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
				{IP: netip.MustParseAddr("::"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
				{PrivatePort: 443, Type: "tcp"},
			},
			Labels: map[string]string{"b": "2", "a": "1"},
		},
		{
			ID:      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Names:   []string{"/old"},
			Image:   "sha256:9876543210fedcba9876543210fedcba9876543210fedcba9876543210fedcba",
			ImageID: "sha256:9876543210fedcba9876543210fedcba9876543210fedcba9876543210fedcba",
			Command: "true",
			Created: fixedNow.Add(-90 * time.Second).Unix(),
			State:   "exited",
			Status:  "Exited (0) 3 seconds ago",
		},
	}
}

func TestPsTable(t *testing.T) {
	var out bytes.Buffer
	c := &berthCLI{out: &out}
	if err := writePs(c, sampleContainers(), defaultPsFormat, true, fixedNow); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CONTAINER ID   IMAGE          COMMAND                  CREATED              STATUS                     PORTS                                              NAMES\n" +
		"4f1e2d3c4b5a   nginx:latest   \"/docker-entrypoint.…\"   2 minutes ago        Up 2 minutes               443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n" +
		"0123456789ab   9876543210fe   \"true\"                   About a minute ago   Exited (0) 3 seconds ago                                                      old\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestPsFormats(t *testing.T) {
	tests := []struct {
		name, format string
		trunc        bool
		want         string
	}{
		{"quiet", "{{.ID}}", true, "4f1e2d3c4b5a\n0123456789ab\n"},
		{"no-trunc id", "{{.ID}}", false, sampleContainers()[0].ID + "\n" + sampleContainers()[1].ID + "\n"},
		{"names and state", "{{.Names}}:{{.State}}", true, "web:running\nold:exited\n"},
		{"label func", `{{.Label "a"}}|{{.Labels}}`, true, "1|a=1,b=2\n|\n"},
		{"template funcs", `{{upper .Names}} {{truncate .ID 4}} {{join (split .Status " ") "_"}} {{pad .State 1 1}}|`, true,
			"WEB 4f1e Up_2_minutes  running |\nOLD 0123 Exited_(0)_3_seconds_ago  exited |\n"},
		{"table custom", `table {{.Names}}\t{{.Status}}`, true, "NAMES     STATUS\nweb       Up 2 minutes\nold       Exited (0) 3 seconds ago\n"},
		{"json", "json", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &berthCLI{out: &out}
			if err := writePs(c, sampleContainers(), tt.format, tt.trunc, fixedNow); err != nil {
				t.Fatal(err)
			}
			if tt.name == "json" {
				first := strings.SplitN(out.String(), "\n", 2)[0]
				for _, want := range []string{`"ID":"4f1e2d3c4b5a"`, `"Names":"web"`, `"RunningFor":"2 minutes ago"`, `"State":"running"`, `"Ports":"443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"`} {
					if !strings.Contains(first, want) {
						t.Errorf("json line %s lacks %s", first, want)
					}
				}
				return
			}
			if out.String() != tt.want {
				t.Errorf("got %q want %q", out.String(), tt.want)
			}
		})
	}
}

func TestRelativeTimes(t *testing.T) {
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{500 * time.Millisecond, "Less than a second ago"},
		{1 * time.Second, "1 second ago"},
		{5 * time.Second, "5 seconds ago"},
		{61 * time.Second, "About a minute ago"},
		{10 * time.Minute, "10 minutes ago"},
		{70 * time.Minute, "About an hour ago"},
		{5 * time.Hour, "5 hours ago"},
		{3 * 24 * time.Hour, "3 days ago"},
		{15 * 24 * time.Hour, "2 weeks ago"},
	}
	for _, tt := range tests {
		if got := timeAgo(fixedNow, fixedNow.Add(-tt.ago)); got != tt.want {
			t.Errorf("%v: got %q want %q", tt.ago, got, tt.want)
		}
	}
}

func TestHumanSizes(t *testing.T) {
	tests := map[int64]string{0: "0B", 999: "999B", 4261000: "4.26MB", 1234567890: "1.23GB"}
	for n, want := range tests {
		if got := humanSize(n); got != want {
			t.Errorf("%d: got %q want %q", n, got, want)
		}
	}
	r := &psRow{c: container.Summary{SizeRw: 12, SizeRootFs: 4261000}}
	if got := r.Size(); got != "12B (virtual 4.26MB)" {
		t.Errorf("ps size = %q", got)
	}
}

func sampleImages() []image.Summary {
	return []image.Summary{
		{
			ID:          "sha256:aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899",
			RepoTags:    []string{"busybox:latest", "busybox:1.36", "registry.example.com/team/app:v1"},
			RepoDigests: []string{"busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111"},
			Created:     fixedNow.Add(-15 * 24 * time.Hour).Unix(),
			Size:        4261000,
			Containers:  -1,
			SharedSize:  -1,
		},
		{
			ID:         "sha256:0000000000001111111111112222222222223333333333334444444444445555",
			Created:    fixedNow.Add(-2 * time.Hour).Unix(),
			Size:       1024,
			Containers: -1,
			SharedSize: -1,
		},
	}
}

func TestImagesTable(t *testing.T) {
	var out bytes.Buffer
	c := &berthCLI{out: &out}
	if err := writeImages(c, sampleImages(), defaultImagesFormat, true, fixedNow); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"REPOSITORY                      TAG       IMAGE ID       CREATED       SIZE\n" +
		"busybox                         latest    aabbccddeeff   2 weeks ago   4.26MB\n" +
		"busybox                         1.36      aabbccddeeff   2 weeks ago   4.26MB\n" +
		"registry.example.com/team/app   v1        aabbccddeeff   2 weeks ago   4.26MB\n" +
		"<none>                          <none>    000000000000   2 hours ago   1.02kB\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	out.Reset()
	if err := writeImages(c, sampleImages(), "{{.Repository}}:{{.Tag}} {{.Digest}}", false, fixedNow); err != nil {
		t.Fatal(err)
	}
	want = "busybox:latest sha256:1111111111111111111111111111111111111111111111111111111111111111\n" +
		"busybox:1.36 sha256:1111111111111111111111111111111111111111111111111111111111111111\n" +
		"registry.example.com/team/app:v1 <none>\n" +
		"<none>:<none> <none>\n"
	if out.String() != want {
		t.Errorf("digests: got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestInspect(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Id":"abc","Name":"/web","State":{"Status":"running","Running":true,"Pid":42},"Config":{"Env":["A=1","B=2"],"Labels":{"x":"<y>"}}}`))
	})
	d.handle("GET /containers/busybox/json", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "No such container: busybox")
	})
	d.handle("GET /images/busybox/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Id":"sha256:aa","RepoTags":["busybox:latest"],"Size":10}`))
	})
	d.handle("GET /containers/nope/json", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "No such container: nope")
	})
	d.handle("GET /images/nope/json", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "No such image: nope")
	})

	out, _, code := d.run("", "inspect", "web")
	want := "[\n    {\n        \"Id\": \"abc\",\n        \"Name\": \"/web\",\n        \"State\": {\n            \"Status\": \"running\",\n" +
		"            \"Running\": true,\n            \"Pid\": 42\n        },\n        \"Config\": {\n            \"Env\": [\n                \"A=1\",\n" +
		"                \"B=2\"\n            ],\n            \"Labels\": {\n                \"x\": \"<y>\"\n            }\n        }\n    }\n]\n"
	if code != 0 || out != want {
		t.Errorf("inspect: code %d\n%s\nwant\n%s", code, out, want)
	}

	out, _, code = d.run("", "inspect", "-f", "{{.State.Pid}} {{.Name}} {{json .Config.Env}}", "web")
	if code != 0 || out != "42 /web [\"A=1\",\"B=2\"]\n" {
		t.Errorf("format: %q (%d)", out, code)
	}

	out, _, code = d.run("", "inspect", "--format", "{{.Id}}", "busybox")
	if code != 0 || out != "sha256:aa\n" {
		t.Errorf("image fallback: %q (%d)", out, code)
	}

	out, stderr, code := d.run("", "inspect", "nope")
	if code != 1 || out != "[]\n" || stderr != "Error: No such object: nope\n" {
		t.Errorf("missing: %q %q (%d)", out, stderr, code)
	}

	out, stderr, code = d.run("", "container", "inspect", "nope")
	if code != 1 || out != "[]\n" || stderr != "Error response from daemon: No such container: nope\n" {
		t.Errorf("container inspect missing: %q %q (%d)", out, stderr, code)
	}
}

// TestMatchesDockerCLI renders ps and images through both berth and the
// Docker CLI against the same fake daemon; skipped when docker is absent.
func TestMatchesDockerCLI(t *testing.T) {
	dockerBin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not installed")
	}
	d := newFakeDaemon(t)
	now := time.Now()
	ctrs := sampleContainers()
	ctrs[0].Created = now.Add(-2 * time.Hour).Unix()
	ctrs[1].Created = now.Add(-3 * 24 * time.Hour).Unix()
	imgs := sampleImages()
	imgs[0].Created = now.Add(-15 * 24 * time.Hour).Unix()
	imgs[1].Created = now.Add(-5 * time.Hour).Unix()
	d.json("GET /containers/json", 200, ctrs)
	d.json("GET /images/json", 200, imgs)
	d.handle("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"ApiVersion": "1.50", "MinAPIVersion": "1.24", "Version": "28.2.2"})
	})
	for _, args := range [][]string{
		{"ps", "-a"}, {"ps", "-a", "--no-trunc"}, {"ps", "-q"}, {"ps", "--format", "{{.Names}}\t{{.Ports}}"},
		{"images"}, {"images", "--digests"}, {"images", "-q"}, {"images", "--no-trunc"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(dockerBin, args...)
			cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host, "DOCKER_CONFIG="+t.TempDir())
			want, err := cmd.CombinedOutput()
			if err != nil {
				t.Skipf("docker %v: %v: %s", args, err, want)
			}
			got, stderr, code := d.run("", args...)
			if code != 0 {
				t.Fatalf("berth exit %d: %s", code, stderr)
			}
			// Docker walks repositories in map order; compare line sets.
			if sortedLines(got) != sortedLines(string(want)) {
				t.Errorf("berth:\n%s\ndocker:\n%s", got, want)
			}
		})
	}
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
