package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// inputCLI runs a CLI with stdin: login --password-stdin.
func inputCLI(d *testutil.Daemon, name string) func(t *testing.T, stdin string, args ...string) (string, string, int) {
	if name == "docker" {
		return func(t *testing.T, stdin string, args ...string) (string, string, int) {
			return d.DockerInput(t, stdin, args...)
		}
	}
	return func(t *testing.T, stdin string, args ...string) (string, string, int) {
		return d.BerthInput(t, stdin, args...)
	}
}

// TestRegistryLoginBasicAndToken: htpasswd basic auth and a bearer-token
// registry; wrong password → 401 wording, login stores credentials in the
// client's config, push and pull send them, logout removes them.
func TestRegistryLoginBasicAndToken(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	for _, kind := range []string{"basic", "token"} {
		for _, c := range clis(t, d) {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				reg := testutil.StartRegistry(t, testutil.RegistryOptions{User: "alice", Password: "s3cret", Token: kind == "token"})
				in := inputCLI(d, c.name)
				src := "src-" + kind + "-" + c.name
				d.ImportBusybox(t, src)
				ref := reg.Host + "/team/app:1"
				must(t, c, "tag", src, ref)
				if _, stderr, code := c.run(t, "push", ref); code == 0 {
					t.Fatalf("push without login succeeded: %s", stderr)
				}
				_, stderr, code := in(t, "wrong\n", "login", "-u", "alice", "--password-stdin", reg.Host)
				if code == 0 || !strings.Contains(stderr, "401 Unauthorized") && !strings.Contains(stderr, "unauthorized") {
					t.Fatalf("wrong password: exit %d %s", code, stderr)
				}
				out, stderr, code := in(t, "s3cret\n", "login", "-u", "alice", "--password-stdin", reg.Host)
				if code != 0 || !strings.Contains(out, "Login Succeeded") {
					t.Fatalf("login: exit %d\n%s\n%s", code, out, stderr)
				}
				cfgDir := d.BerthConfigDir()
				if c.name == "docker" {
					cfgDir = filepath.Join(filepath.Dir(d.DataRoot), "docker-config")
				}
				if b, err := os.ReadFile(filepath.Join(cfgDir, "config.json")); err != nil || !strings.Contains(string(b), reg.Host) {
					t.Fatalf("credentials not stored: %v %s", err, b)
				}
				must(t, c, "push", ref)
				must(t, c, "rmi", ref, src)
				if out := must(t, c, "pull", ref); !strings.Contains(out, "Pull complete") {
					t.Fatalf("pull after login:\n%s", out)
				}
				if out := must(t, c, "logout", reg.Host); !strings.Contains(out, "Removing login credentials for "+reg.Host) {
					t.Fatalf("logout: %s", out)
				}
				must(t, c, "rmi", ref)
				_, stderr, code = c.run(t, "pull", ref)
				if code == 0 || !strings.Contains(stderr, "pull access denied for "+reg.Host+"/team/app, repository does not exist or may require 'docker login'") {
					t.Fatalf("pull after logout: exit %d %s", code, stderr)
				}
			})
		}
	}
}

// TestRegistryTLSAndInsecure: a TLS registry is verified with the CA in
// the certs dir; without it the pull fails; --insecure-registry skips
// verification; a plain-HTTP registry is refused unless insecure.
func TestRegistryTLSAndInsecure(t *testing.T) {
	testutil.RequiresRoot(t)
	certs := t.TempDir()
	tlsReg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true})
	plain := testutil.StartRegistry(t, testutil.RegistryOptions{})
	plainByName := strings.Replace(plain.Host, "127.0.0.1", "localhost", 1)
	d := testutil.StartDaemon(t, "--registry-certs-dir", certs)
	d.ImportBusybox(t, "src")
	b := clis(t, d)[0]
	ref := tlsReg.Host + "/secure/app:1"
	must(t, b, "tag", "src", ref)
	_, stderr, code := d.Berth(t, "push", ref)
	if code == 0 || !strings.Contains(stderr, "certificate signed by unknown authority") {
		t.Fatalf("push without the CA: exit %d %s", code, stderr)
	}
	tlsReg.InstallCA(t, certs)
	must(t, b, "push", ref)
	must(t, b, "rmi", ref)
	for _, c := range clis(t, d) {
		if out := must(t, c, "pull", ref); !strings.Contains(out, "Digest: sha256:") {
			t.Fatalf("%s pull over verified TLS:\n%s", c.name, out)
		}
		must(t, c, "rmi", ref)
	}
	// localhost is not an IP literal in 127.0.0.0/8: secure by default.
	_, stderr, code = d.Berth(t, "pull", plainByName+"/x/y:1")
	if code == 0 || !strings.Contains(stderr, "server gave HTTP response to HTTPS client") {
		t.Fatalf("plain HTTP registry not refused: exit %d %s", code, stderr)
	}
	d.Stop(t)

	d2 := testutil.StartDaemon(t, "--registry-certs-dir", t.TempDir(), "--insecure-registry", tlsReg.Host, "--insecure-registry", plainByName)
	d2.ImportBusybox(t, "src")
	b2 := clis(t, d2)[0]
	if out := must(t, b2, "pull", ref); !strings.Contains(out, "Status: Downloaded newer image for "+ref) {
		t.Fatalf("insecure TLS pull:\n%s", out)
	}
	must(t, b2, "tag", "src", plainByName+"/x/y:1")
	must(t, b2, "push", plainByName+"/x/y:1")
}

// TestRegistryMirror: Docker Hub names are pulled from the configured
// mirror.
func TestRegistryMirror(t *testing.T) {
	testutil.RequiresRoot(t)
	mirror := testutil.StartRegistry(t, testutil.RegistryOptions{})
	d := testutil.StartDaemon(t, "--registry-mirror", "http://"+mirror.Host)
	d.ImportBusybox(t, "src")
	b := clis(t, d)[0]
	must(t, b, "tag", "src", mirror.Host+"/library/mirrored:latest")
	must(t, b, "push", mirror.Host+"/library/mirrored:latest")
	must(t, b, "rmi", "src", mirror.Host+"/library/mirrored:latest")
	for _, c := range clis(t, d) {
		out := must(t, c, "pull", "mirrored")
		if !strings.Contains(out, "Status: Downloaded newer image for mirrored:latest") || !strings.Contains(out, "docker.io/library/mirrored:latest") {
			t.Fatalf("%s pull through the mirror:\n%s", c.name, out)
		}
		if got := must(t, c, "run", "--rm", "mirrored", "echo", "ok"); got != "ok" {
			t.Fatalf("run: %q", got)
		}
		must(t, c, "rmi", "mirrored")
	}
}
