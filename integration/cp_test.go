package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// withInput runs c with stdin.
func withInput(d *testutil.Daemon, c cli, stdin string, args ...string) func(t *testing.T) (string, string, int) {
	return func(t *testing.T) (string, string, int) {
		if c.name == "docker" {
			return d.DockerInput(t, stdin, args...)
		}
		return d.BerthInput(t, stdin, args...)
	}
}

// tarNames lists the entry names of a tar stream.
func tarNames(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(strings.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
		if h.Typeflag == tar.TypeSymlink {
			out[h.Name] = "-> " + h.Linkname
		}
	}
}

func oneFileTar(t *testing.T, name, body string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	return buf.String()
}

func TestCpBothWays(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		for _, running := range []bool{true, false} {
			mode := "stopped"
			if running {
				mode = "running"
			}
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				vol := testutil.UniqueName(t, "cpvol")
				name := testutil.UniqueName(t, "cp")
				if running {
					must(t, c, "run", "-d", "--name", name, "-v", vol+":/data", "busybox", "sleep", "1000")
				} else {
					must(t, c, "create", "--name", name, "-v", vol+":/data", "busybox", "sleep", "1000")
				}
				t.Cleanup(func() { d.Berth(t, "rm", "-f", "-v", name); d.Berth(t, "volume", "rm", "-f", vol) })
				local := t.TempDir()
				os.WriteFile(filepath.Join(local, "f.txt"), []byte("hello file\n"), 0o644)
				os.MkdirAll(filepath.Join(local, "dir", "sub"), 0o755)
				os.WriteFile(filepath.Join(local, "dir", "sub", "g.txt"), []byte("deep\n"), 0o600)

				// Into the container: a file into a directory, a file under a
				// new name, a directory, a file into the volume.
				must(t, c, "cp", filepath.Join(local, "f.txt"), name+":/tmp/")
				must(t, c, "cp", filepath.Join(local, "f.txt"), name+":/tmp/renamed.txt")
				must(t, c, "cp", filepath.Join(local, "dir"), name+":/tmp/copied")
				must(t, c, "cp", filepath.Join(local, "f.txt"), name+":/data/in-volume.txt")

				// Out again, by stream: content as written.
				files := tarNames(t, must(t, c, "cp", name+":/tmp/copied", "-"))
				if files["copied/sub/g.txt"] != "deep\n" {
					t.Fatalf("tar of /tmp/copied: %v", files)
				}
				for p, want := range map[string]string{"/tmp/f.txt": "hello file\n", "/tmp/renamed.txt": "hello file\n", "/data/in-volume.txt": "hello file\n"} {
					out, _, _ := c.run(t, "cp", name+":"+p, "-")
					got := tarNames(t, out)
					if got[filepath.Base(p)] != want {
						t.Fatalf("%s read back %v", p, got)
					}
				}
				// Out to local files and directories.
				back := t.TempDir()
				must(t, c, "cp", name+":/tmp/copied", filepath.Join(back, "d"))
				if b, err := os.ReadFile(filepath.Join(back, "d", "sub", "g.txt")); err != nil || string(b) != "deep\n" {
					t.Fatalf("dir copied out: %q %v", b, err)
				}
				must(t, c, "cp", name+":/tmp/renamed.txt", back)
				if b, _ := os.ReadFile(filepath.Join(back, "renamed.txt")); string(b) != "hello file\n" {
					t.Fatalf("file copied out: %q", b)
				}
				must(t, c, "cp", name+":/etc/passwd", filepath.Join(back, "pw"))
				if b, _ := os.ReadFile(filepath.Join(back, "pw")); !strings.HasPrefix(string(b), "root:") {
					t.Fatalf("passwd copied out: %q", b)
				}
				// A tar on stdin into a directory.
				out, stderr, code := withInput(d, c, oneFileTar(t, "streamed.txt", "from stdin"), "cp", "-", name+":/tmp")(t)
				if code != 0 {
					t.Fatalf("cp - : %d %s %s", code, out, stderr)
				}
				if got := tarNames(t, must(t, c, "cp", name+":/tmp/streamed.txt", "-")); got["streamed.txt"] != "from stdin" {
					t.Fatalf("streamed file: %v", got)
				}
				// Errors, in Docker's words.
				_, stderr, code = c.run(t, "cp", filepath.Join(local, "f.txt"), name+":/nope/x")
				if code != 1 || !strings.Contains(stderr, "Could not find the file /nope in container "+name) {
					t.Fatalf("cp to a missing parent: exit %d %q", code, stderr)
				}
				_, stderr, code = c.run(t, "cp", name+":/nope", back)
				if code != 1 || !strings.Contains(stderr, "Could not find the file /nope in container "+name) {
					t.Fatalf("cp of a missing path: exit %d %q", code, stderr)
				}
				_, stderr, code = c.run(t, "cp", name+":/etc/passwd", "/nonexistent-dir/x")
				if code != 1 || !strings.Contains(stderr, `invalid output path: directory "/nonexistent-dir" does not exist`) {
					t.Fatalf("cp to a missing local dir: exit %d %q", code, stderr)
				}
				ev := must(t, c, "events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
					"--filter", "container="+name, "--format", "{{.Action}}")
				if !strings.Contains(ev, "extract-to-dir") || !strings.Contains(ev, "archive-path") {
					t.Fatalf("cp events: %q", ev)
				}
				if running {
					// The running container sees what was copied in.
					if got := must(t, c, "exec", name, "cat", "/tmp/copied/sub/g.txt", "/data/in-volume.txt"); got != "deep\nhello file" {
						t.Fatalf("container reads %q", got)
					}
				}
			})
		}
	}
}

// TestCpOwnership: the tar's owners are kept, and -a into a container that
// runs as a user makes that user the owner, as Docker does.
func TestCpOwnership(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	local := filepath.Join(t.TempDir(), "owned")
	if err := os.WriteFile(local, []byte("o"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(local, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "own")
			must(t, c, "run", "-d", "--name", name, "-u", "1000", "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			must(t, c, "cp", local, name+":/tmp/plain")
			must(t, c, "cp", "-a", local, name+":/tmp/archived")
			if got := must(t, c, "exec", name, "stat", "-c", "%u:%g", "/tmp/plain", "/tmp/archived"); got != "4242:4343\n1000:1000" {
				t.Fatalf("owners %q", got)
			}
		})
	}
}

var (
	ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[78])`)
	copiedLine = regexp.MustCompile(`Successfully copied [^ ]+ to [^\r\n]+`)
)

// onTTY runs a CLI command under script(1), so that its stdout is a
// terminal, and returns what it printed with the terminal controls removed.
func onTTY(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	var quoted []string
	for _, a := range argv {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	cmd := exec.Command("script", "-qec", strings.Join(quoted, " "), "/dev/null")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return ansiEscape.ReplaceAllString(string(out), "")
}

// TestCpReportsOnATerminal: on a terminal both CLIs end with Docker's
// "Successfully copied <size> to <dest>" line, the size being the tar's.
func TestCpReportsOnATerminal(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) not installed")
	}
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	name := testutil.UniqueName(t, "tty")
	must(t, clis(t, d)[0], "create", "--name", name, "busybox", "true")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
	local := t.TempDir()
	src := filepath.Join(local, "five")
	os.WriteFile(src, []byte("12345"), 0o644)
	runners := map[string]func(args ...string) string{
		"berth": func(args ...string) string {
			return onTTY(t, []string{"BERTH_HOST=" + d.Host}, append([]string{d.Binary}, args...)...)
		},
	}
	if _, err := exec.LookPath("docker"); err == nil {
		cfg := t.TempDir()
		runners["docker"] = func(args ...string) string {
			return onTTY(t, []string{"DOCKER_CONFIG=" + cfg, "DOCKER_CLI_HINTS=false"}, append([]string{"docker", "-H", d.Host}, args...)...)
		}
	}
	for cliName, run := range runners {
		t.Run(cliName, func(t *testing.T) {
			got := copiedLine.FindString(run("cp", src, name+":/tmp/"))
			if got != "Successfully copied 2.05kB to "+name+":/tmp/" {
				t.Fatalf("into the container: %q", got)
			}
			dst := filepath.Join(local, cliName)
			got = copiedLine.FindString(run("cp", name+":/tmp/five", dst))
			if got != "Successfully copied 2.05kB to "+dst {
				t.Fatalf("out of the container: %q", got)
			}
			if quiet := run("cp", "-q", src, name+":/tmp/"); strings.Contains(quiet, "Successfully") {
				t.Fatalf("-q printed %q", quiet)
			}
		})
	}
}

// TestCpDirContents: "dir/." copies what is in a directory, not the
// directory, into an existing one or as a new one, both ways.
func TestCpDirContents(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	local := t.TempDir()
	os.MkdirAll(filepath.Join(local, "src", "sub"), 0o755)
	os.WriteFile(filepath.Join(local, "src", "sub", "f"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(local, "src", "top"), []byte("t"), 0o644)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "dot")
			must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", "mkdir /exists; sleep 1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			waitFor(t, 10*time.Second, func() bool { _, _, code := c.run(t, "exec", name, "test", "-d", "/exists"); return code == 0 })
			must(t, c, "cp", filepath.Join(local, "src")+"/.", name+":/exists")
			must(t, c, "cp", filepath.Join(local, "src")+"/.", name+":/fresh")
			if got := must(t, c, "exec", name, "sh", "-c", "cat /exists/top /exists/sub/f /fresh/top /fresh/sub/f; ls -d /exists/src /fresh/src 2>&1 | grep -c 'No such'"); got != "tftf2" {
				t.Fatalf("contents copied in: %q", got)
			}
			out := filepath.Join(t.TempDir(), "out")
			must(t, c, "cp", name+":/fresh/.", out)
			existing := t.TempDir()
			must(t, c, "cp", name+":/fresh/.", existing)
			for _, p := range []string{filepath.Join(out, "sub", "f"), filepath.Join(existing, "sub", "f"), filepath.Join(existing, "top")} {
				if _, err := os.Stat(p); err != nil {
					t.Fatalf("contents copied out: %v", err)
				}
			}
		})
	}
}

// TestCpFollowLink: -L copies a symlink's target under the link's name,
// both ways; without it the link itself is copied.
func TestCpFollowLink(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "target"), []byte("target\n"), 0o644)
	os.Symlink("target", filepath.Join(local, "link"))
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "follow")
			must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", "ln -s /etc/passwd /etc/pwlink; sleep 1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			waitFor(t, 10*time.Second, func() bool { _, _, code := c.run(t, "exec", name, "test", "-L", "/etc/pwlink"); return code == 0 })
			out := t.TempDir()
			must(t, c, "cp", name+":/etc/pwlink", filepath.Join(out, "plain"))
			must(t, c, "cp", "-L", name+":/etc/pwlink", filepath.Join(out, "followed"))
			if target, err := os.Readlink(filepath.Join(out, "plain")); err != nil || target != "/etc/passwd" {
				t.Fatalf("without -L: %q %v", target, err)
			}
			if b, err := os.ReadFile(filepath.Join(out, "followed")); err != nil || !strings.Contains(string(b), "berthuser") {
				t.Fatalf("with -L: %q %v", b, err)
			}
			must(t, c, "cp", filepath.Join(local, "link"), name+":/tmp/")
			must(t, c, "cp", "-L", filepath.Join(local, "link"), name+":/tmp/flink")
			if got := must(t, c, "exec", name, "sh", "-c", "readlink /tmp/link; cat /tmp/flink; test -L /tmp/flink || echo regular"); got != "target\ntarget\nregular" {
				t.Fatalf("into the container: %q", got)
			}
		})
	}
}
