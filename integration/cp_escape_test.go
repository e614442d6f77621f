package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"berth/internal/testutil"
)

// escapeTar is a PUT /archive body that tries every way out of the
// extraction directory: "..", absolute names, a hard link out, and files
// written through symlinks to "/", to "../.." and to the host directory.
func escapeTar(t *testing.T, hostDir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	file := func(name string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
		tw.Write([]byte("pwned\n"))
	}
	link := func(name, target string) {
		tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: tar.TypeSymlink})
	}
	link("to-root", "/")
	link("to-up", "../../../../../../../../..")
	link("to-host", hostDir)
	file("to-root" + hostDir + "/via-root")
	file("to-up" + hostDir + "/via-up")
	file("to-host/via-host")
	file("/" + strings.TrimPrefix(hostDir, "/") + "/absolute-name")
	tw.Close()
	return buf.Bytes()
}

func dotdotTar(t *testing.T, hostDir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../../../../../../../.." + hostDir + "/dotdot", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
	tw.Write([]byte("pwned\n"))
	tw.Close()
	return buf.Bytes()
}

func hardlinkTar(t *testing.T, hostDir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hl", Linkname: "../../../../../../../.." + hostDir + "/secret", Typeflag: tar.TypeLink})
	tw.Close()
	return buf.Bytes()
}

func assertHostDirUntouched(t *testing.T, hostDir string) {
	t.Helper()
	ents, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "secret" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("the host directory was written to: %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(hostDir, "secret")); string(b) != "host secret\n" {
		t.Fatalf("the host secret changed: %q", b)
	}
}

// TestCpSymlinkEscape is the corpus of symlinks in a container that point
// out of it — at "/", through "../..", at a host directory by its absolute
// path — used as cp sources and destinations, and tars that climb out on
// PUT. Nothing may read or write the host, running or stopped.
func TestCpSymlinkEscape(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "secret"), []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := strings.Repeat("../", 12)
	script := "mkdir -p /evil && ln -s / /evil/root && ln -s " + up + " /evil/up && ln -s " + hostDir + " /evil/host && ln -s " + up + strings.TrimPrefix(hostDir, "/") + " /evil/uphost && ln -s /evil/host/secret /evil/secretlink"
	api := d.Client(t)
	for _, c := range clis(t, d) {
		for _, running := range []bool{true, false} {
			mode := "stopped"
			if running {
				mode = "running"
			}
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				name := testutil.UniqueName(t, "esc")
				cmd := script + " && sleep 1000"
				must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", cmd)
				t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
				waitFor(t, 10*time.Second, func() bool { _, _, code := c.run(t, "cp", name+":/evil/secretlink", "-"); return code == 0 })
				if !running {
					must(t, c, "stop", "-t", "0", name)
				}
				local := t.TempDir()
				os.WriteFile(filepath.Join(local, "payload"), []byte("pwned\n"), 0o644)

				// Reads: through each link, the container's own tree or nothing.
				for _, src := range []string{"/evil/host/secret", "/evil/uphost/secret", "/evil/up" + hostDir + "/secret", "/evil/root" + hostDir + "/secret"} {
					out, stderr, code := c.run(t, "cp", name+":"+src, "-")
					if strings.Contains(out, "host secret") {
						t.Fatalf("cp %s read the host file", src)
					}
					if code == 0 || !strings.Contains(stderr, "Could not find the file") {
						t.Fatalf("cp %s: exit %d %q", src, code, stderr)
					}
				}
				for _, src := range []string{"/evil/secretlink", "/evil/host", "/evil/uphost"} {
					out, stderr, code := c.run(t, "cp", "-L", name+":"+src, "-")
					if strings.Contains(out, "host secret") {
						t.Fatalf("cp -L %s read the host file", src)
					}
					if code == 0 {
						t.Fatalf("cp -L %s succeeded: %q", src, stderr)
					}
				}
				if got := tarNames(t, must(t, c, "cp", name+":/evil/root/etc/passwd", "-")); !strings.Contains(got["passwd"], "berthuser") {
					t.Fatalf("/evil/root/etc/passwd is not the container's: %v", got)
				}
				// A link copies as a link, never as its target.
				must(t, c, "cp", name+":/evil/host", filepath.Join(local, "hostlink"))
				if target, err := os.Readlink(filepath.Join(local, "hostlink")); err != nil || target != hostDir {
					t.Fatalf("link copied out as %q %v", target, err)
				}
				// A directory whose relative links climb out of it is refused
				// locally, as Docker's CLI refuses it.
				_, stderr, code := c.run(t, "cp", name+":/evil", filepath.Join(local, "evil"))
				if code != 1 || !strings.Contains(stderr, `invalid symlink "`+filepath.Join(local, "evil", "up")+`" -> "`+up+`"`) {
					t.Fatalf("cp of a dir with an escaping link: exit %d %q", code, stderr)
				}
				// Writes: through each link, refused or kept inside.
				for _, dst := range []string{"/evil/host/", "/evil/host/new", "/evil/uphost/new", "/evil/up" + hostDir + "/new", "/evil/root" + hostDir + "/new", "/evil/secretlink"} {
					c.run(t, "cp", filepath.Join(local, "payload"), name+":"+dst)
					assertHostDirUntouched(t, hostDir)
				}
				ctx := context.Background()
				for _, body := range [][]byte{escapeTar(t, hostDir), dotdotTar(t, hostDir), hardlinkTar(t, hostDir)} {
					for _, dst := range []string{"/tmp", "/evil/host", "/evil/uphost", "/evil/root"} {
						api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: dst, Content: bytes.NewReader(body)})
						assertHostDirUntouched(t, hostDir)
					}
				}
				if _, err := api.CopyToContainer(ctx, name, client.CopyToContainerOptions{DestinationPath: "/tmp", Content: bytes.NewReader(dotdotTar(t, hostDir))}); err == nil || !strings.Contains(err.Error(), "escapes") {
					t.Fatalf("a tar with .. was accepted: %v", err)
				}
				// What went through the links to "/" landed in the container.
				if out := must(t, c, "cp", name+":/tmp/to-host", "-"); !strings.Contains(tarNames(t, out)["to-host"], hostDir) {
					t.Fatalf("symlink entry not extracted in the container: %v", tarNames(t, out))
				}
				if _, err := os.Stat("/via-root"); err == nil {
					t.Fatal("a file landed at the host's /")
				}
			})
		}
	}
}
