package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// writeFiles lays out a build context.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildCLIs are berth's CLI and the Docker CLI with its classic builder.
func buildCLIs(t *testing.T, d *testutil.Daemon) []cli {
	out := []cli{{"berth", func(t *testing.T, a ...string) (string, string, int) { return d.Berth(t, a...) }}}
	if _, err := exec.LookPath("docker"); err == nil {
		cfg := t.TempDir()
		out = append(out, cli{"docker", func(t *testing.T, a ...string) (string, string, int) {
			return dockerClassic(t, d, cfg, "", a...)
		}})
	}
	return out
}

// dockerClassic runs the Docker CLI with the classic builder (no buildx).
func dockerClassic(t *testing.T, d *testutil.Daemon, cfg, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"-H", d.Host}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+cfg, "DOCKER_CLI_HINTS=false")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// buildDaemon starts a daemon with busybox for build tests.
func buildDaemon(t *testing.T) *testutil.Daemon {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	return d
}

// history is the image's CreatedBy column, newest first.
func history(t *testing.T, d *testutil.Daemon, ref string) []string {
	t.Helper()
	res, err := d.Client(t).ImageHistory(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range res.Items {
		out = append(out, h.CreatedBy)
	}
	return out
}

// TestBuildMultiStageScratch copies a static binary built in one stage
// into scratch; the stage nothing needs is never built.
func TestBuildMultiStageScratch(t *testing.T) {
	d := buildDaemon(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": `ARG BASE=busybox
FROM ${BASE} AS tools
RUN mkdir -p /out && cp /bin/busybox /out/busybox && echo built > /out/stamp

FROM busybox AS unused
RUN echo this stage must not run; false

FROM scratch
COPY --from=tools /out/busybox /bin/busybox
COPY --from=tools /out/stamp /stamp
ENTRYPOINT ["/bin/busybox"]
CMD ["cat", "/stamp"]
`})
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "multi-" + c.name
			out := must(t, c, "build", "-t", ref, dir)
			if strings.Contains(out, "must not run") || !strings.Contains(out, "Step 1/8 : ARG BASE=busybox") {
				t.Fatalf("build output:\n%s", out)
			}
			if got := must(t, c, "run", "--rm", ref); got != "built" {
				t.Fatalf("run: %q", got)
			}
			if got := must(t, c, "run", "--rm", ref, "ls", "/"); got != "bin\ndev\netc\nproc\nstamp\nsys" {
				t.Fatalf("scratch image holds %q", got)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{json .Config.Entrypoint}} {{len .RootFS.Layers}}", ref); got != `["/bin/busybox"] 2` {
				t.Fatalf("entrypoint and layers: %s", got)
			}
			must(t, c, "build", "--target", "tools", "-t", ref+":tools", dir)
			if got := must(t, c, "run", "--rm", ref+":tools", "cat", "/out/stamp"); got != "built" {
				t.Fatalf("target stage: %q", got)
			}
			_, stderr, code := c.run(t, "build", "--target", "nosuch", dir)
			if code == 0 || !strings.Contains(stderr, "failed to reach build target nosuch in Dockerfile") {
				t.Fatalf("unknown target: exit %d %q", code, stderr)
			}
			// Everything cached the second time.
			out = must(t, c, "build", "-t", ref, dir)
			if n := strings.Count(out, "Using cache"); n != 5 {
				t.Fatalf("second build used the cache %d times:\n%s", n, out)
			}
		})
	}
}

// TestBuildChains checks ENV/WORKDIR/USER/ARG chains, SHELL, LABEL,
// EXPOSE, history and the cache's reaction to build args.
func TestBuildChains(t *testing.T) {
	d := buildDaemon(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": `FROM busybox
ENV BASE=/opt APP=app
WORKDIR $BASE
WORKDIR ${APP}
ENV FULL=$BASE/$APP
RUN echo "$FULL" > where && id -u > uid
USER berthuser
RUN whoami > /tmp/who
ARG VERSION=1
RUN echo "v$VERSION" > /tmp/version
LABEL version=$VERSION maintainer="the team"
EXPOSE 8080 9090/udp
SHELL ["/bin/sh", "-e", "-c"]
RUN echo shell: $0 > /tmp/shell
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
VOLUME /data
`})
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "chains-" + c.name
			must(t, c, "build", "-t", ref, "--build-arg", "VERSION=2-"+c.name, dir)
			got := must(t, c, "run", "--rm", ref, "sh", "-c", `pwd; cat where uid; whoami; cat /tmp/who /tmp/version /tmp/shell; echo $FULL; test -d /data && echo vol`)
			want := "/opt/app\n/opt/app\n0\nberthuser\nberthuser\nv2-" + c.name + "\nshell: /bin/sh\n/opt/app\nvol"
			if got != want {
				t.Fatalf("image content:\n%s\nwant:\n%s", got, want)
			}
			insp, err := d.Client(t).ImageInspect(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			cfg := insp.Config
			if cfg.User != "berthuser" || cfg.WorkingDir != "/opt/app" || cfg.Labels["version"] != "2-"+c.name || cfg.Labels["maintainer"] != "the team" ||
				cfg.StopSignal != "SIGINT" || cfg.Healthcheck == nil || len(cfg.ExposedPorts) != 2 || len(cfg.Shell) != 3 {
				t.Fatalf("config: %+v", cfg)
			}
			if _, ok := cfg.Volumes["/data"]; !ok {
				t.Fatalf("volumes: %v", cfg.Volumes)
			}
			h := history(t, d, ref)
			if len(h) < 17 || !strings.Contains(h[0], "VOLUME") || !strings.Contains(strings.Join(h, "\n"), `|1 VERSION=2-`+c.name+` /bin/sh -c echo "v$VERSION" > /tmp/version`) {
				t.Fatalf("history:\n%s", strings.Join(h, "\n"))
			}
			// A different build arg invalidates the steps that see it.
			out := must(t, c, "build", "-t", ref, "--build-arg", "VERSION=3-"+c.name, dir)
			if n := strings.Count(out, "Using cache"); n != 7 {
				t.Fatalf("rebuild with another arg used the cache %d times:\n%s", n, out)
			}
			if got := must(t, c, "run", "--rm", ref, "cat", "/tmp/version"); got != "v3-"+c.name {
				t.Fatalf("version %q", got)
			}
		})
	}
}

// TestBuildOnbuild runs a parent's ONBUILD triggers in the child.
func TestBuildOnbuild(t *testing.T) {
	d := buildDaemon(t)
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			parent := "onbuild-parent-" + c.name
			pdir := writeFiles(t, map[string]string{"Dockerfile": "FROM busybox\nONBUILD COPY marker /marker\nONBUILD RUN echo triggered > /trig\n"})
			must(t, c, "build", "-t", parent, pdir)
			if got := must(t, c, "image", "inspect", "-f", "{{json .Config.OnBuild}}", parent); got != `["COPY marker /marker","RUN echo triggered > /trig"]` {
				t.Fatalf("parent OnBuild %s", got)
			}
			cdir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + parent + "\nCMD cat /marker /trig\n", "marker": "mark\n"})
			out := must(t, c, "build", "-t", "onbuild-child-"+c.name, cdir)
			if !strings.Contains(out, "# Executing 2 build triggers") {
				t.Fatalf("child build:\n%s", out)
			}
			if got := must(t, c, "run", "--rm", "onbuild-child-"+c.name); got != "mark\ntriggered" {
				t.Fatalf("child run %q", got)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{json .Config.OnBuild}}", "onbuild-child-"+c.name); got != "null" && got != "[]" {
				t.Fatalf("child inherited OnBuild %s", got)
			}
		})
	}
}

// TestBuildContext covers .dockerignore, COPY/ADD semantics, heredocs,
// -f outside the context, stdin contexts, -q and --iidfile.
func TestBuildContext(t *testing.T) {
	d := buildDaemon(t)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	tw.WriteHeader(&tar.Header{Name: "inner/x.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("x\n"))
	tw.Close()
	dir := writeFiles(t, map[string]string{
		"Dockerfile": `FROM busybox
COPY . /ctx/
COPY --chown=berthuser:staff --chmod=0600 src/a.txt /owned
COPY src/*.txt /glob/
ADD bundle.tar /unpacked/
RUN <<EOF
echo one > /one
echo two >> /one
EOF
COPY <<EOF /greeting
hello heredoc
EOF
`,
		".dockerignore": "secret.txt\nlogs\n*.md\n!README.md\n",
		"secret.txt":    "no",
		"logs/a.log":    "no",
		"NOTES.md":      "no",
		"README.md":     "yes",
		"src/a.txt":     "a\n",
		"src/b.txt":     "b\n",
		"bundle.tar":    tarball.String(),
	})
	check := func(t *testing.T, c cli, ref string) {
		t.Helper()
		got := must(t, c, "run", "--rm", ref, "sh", "-c",
			`cd /ctx && ls -A | tr '\n' ' '; stat -c '%U:%G %a' /owned; ls /glob | tr '\n' ' '; cat /unpacked/inner/x.txt /one /greeting`)
		want := ".dockerignore Dockerfile README.md bundle.tar src berthuser:staff 600\na.txt b.txt x\none\ntwo\nhello heredoc"
		if got != want {
			t.Fatalf("image content:\n%q\nwant\n%q", got, want)
		}
	}
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "ctx-" + c.name
			iid := filepath.Join(t.TempDir(), "iid")
			out := must(t, c, "build", "-q", "--iidfile", iid, "-t", ref, "-t", ref+":two", dir)
			id, err := os.ReadFile(iid)
			if err != nil || !strings.HasPrefix(string(id), "sha256:") || out != strings.TrimSpace(string(id)) {
				t.Fatalf("-q printed %q, iidfile %q (%v)", out, id, err)
			}
			check(t, c, ref+":two")
			// A changed file of the same size is a cache miss.
			os.WriteFile(filepath.Join(dir, "src/a.txt"), []byte(strings.ToUpper(c.name[:1])+"\n"), 0o644)
			out = must(t, c, "build", "-t", ref, dir)
			os.WriteFile(filepath.Join(dir, "src/a.txt"), []byte("a\n"), 0o644)
			if strings.Contains(out, "Using cache") {
				t.Fatalf("changed content used the cache:\n%s", out)
			}
			// -f outside the context.
			df := filepath.Join(t.TempDir(), "Other.Dockerfile")
			os.WriteFile(df, []byte("FROM busybox\nCOPY README.md /r\nCMD cat /r\n"), 0o644)
			must(t, c, "build", "-f", df, "-t", ref+":outside", dir)
			if got := must(t, c, "run", "--rm", ref+":outside"); got != "yes" {
				t.Fatalf("-f outside the context: %q", got)
			}
		})
	}
	// Stdin: a bare Dockerfile, and a tar context.
	out, stderr, code := d.BerthInput(t, "FROM busybox\nRUN echo stdin > /s\n", "build", "-t", "stdin-df", "-")
	if code != 0 {
		t.Fatalf("build - < Dockerfile: %d %s %s", code, out, stderr)
	}
	var ctxTar bytes.Buffer
	tw = tar.NewWriter(&ctxTar)
	body := "FROM busybox\nCOPY f /f\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("ff\n"))
	tw.Close()
	if out, stderr, code := d.BerthInput(t, ctxTar.String(), "build", "-t", "stdin-tar", "-"); code != 0 {
		t.Fatalf("tar on stdin: %d %s %s", code, out, stderr)
	}
	if got, _, _ := d.Berth(t, "run", "--rm", "stdin-tar", "cat", "/f"); strings.TrimSpace(got) != "ff" {
		t.Fatalf("stdin tar image: %q", got)
	}
}

// TestBuildBadInput: Docker's errors, nothing left behind.
func TestBuildBadInput(t *testing.T) {
	d := buildDaemon(t)
	cases := []struct {
		name, dockerfile, want string
	}{
		{"unknown instruction", "FROM busybox\nFROB x\n", "dockerfile parse error on line 2: unknown instruction: FROB"},
		{"failing run", "FROM busybox\nRUN echo before; false\n", "The command '/bin/sh -c echo before; false' returned a non-zero code: 1"},
		{"missing source", "FROM busybox\nCOPY nothere /x\n", "COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: file does not exist"},
		{"outside the context", "FROM busybox\nCOPY ../x /x\n", "COPY failed: forbidden path outside the build context: ../x ()"},
		{"no such base", "FROM nosuchimage:1\n", "nosuchimage"},
	}
	for _, c := range buildCLIs(t, d) {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				dir := writeFiles(t, map[string]string{"Dockerfile": tc.dockerfile})
				stdout, stderr, code := c.run(t, "build", dir)
				if code == 0 || !strings.Contains(stdout+stderr, tc.want) {
					t.Fatalf("exit %d, want %q\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
				}
				if ps := must(t, c, "ps", "-aq"); ps != "" {
					t.Fatalf("step containers left behind: %s", ps)
				}
			})
		}
	}
}

// TestBuildCachePersists: the cache survives a daemon restart; builder
// prune empties it.
func TestBuildCachePersists(t *testing.T) {
	d := buildDaemon(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo x > /x\nCOPY f /f\n", "f": "f"})
	d.Berth(t, "build", "-t", "persist", dir)
	d.Restart(t)
	out, _, _ := d.Berth(t, "build", "-t", "persist", dir)
	if n := strings.Count(out, "Using cache"); n != 2 {
		t.Fatalf("after restart:\n%s", out)
	}
	if out, stderr, code := d.Berth(t, "builder", "prune", "-f"); code != 0 || !strings.Contains(out, "Total reclaimed space") {
		t.Fatalf("builder prune: %d %s %s", code, out, stderr)
	}
	out, _, _ = d.Berth(t, "build", "-t", "persist", dir)
	if strings.Contains(out, "Using cache") {
		t.Fatalf("after prune:\n%s", out)
	}
	// Intermediate images stay out of the default listing: busybox, the
	// image and the one it replaced.
	imgs, _, _ := d.Berth(t, "images", "-q")
	all, _, _ := d.Berth(t, "images", "-a", "-q")
	if len(strings.Fields(imgs)) != 3 || len(strings.Fields(all)) <= 3 {
		t.Fatalf("images: %q, -a: %q", imgs, all)
	}
}

// TestBuildClientDisconnect: a client that goes away mid-RUN stops the
// build; its step container is removed.
func TestBuildClientDisconnect(t *testing.T) {
	d := buildDaemon(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 300\n"})
	cmd := exec.Command(d.Binary, "build", dir)
	cmd.Env = append(os.Environ(), "BERTH_HOST="+d.Host)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 20*time.Second, func() bool {
		out, _, _ := d.Berth(t, "ps", "-q", "--filter", "status=running")
		return strings.TrimSpace(out) != ""
	})
	cmd.Process.Kill()
	cmd.Wait()
	start := time.Now()
	defer func() { t.Log("cleaned up after", time.Since(start)) }()
	waitFor(t, 20*time.Second, func() bool {
		out, _, _ := d.Berth(t, "ps", "-aq")
		return strings.TrimSpace(out) == ""
	})
}
