package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

func TestNamedVolumePersists(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			vol := testutil.UniqueName(t, "data")
			if got := must(t, c, "volume", "create", "--label", "team=a", vol); got != vol {
				t.Fatalf("volume create printed %q", got)
			}
			must(t, c, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo 1 > /data/x")
			if got := must(t, c, "run", "--rm", "-v", vol+":/data", "busybox", "cat", "/data/x"); got != "1" {
				t.Fatalf("second container read %q", got)
			}
			ls := must(t, c, "volume", "ls")
			if !strings.HasPrefix(ls, "DRIVER    VOLUME NAME") || !strings.Contains(ls, "local     "+vol) {
				t.Fatalf("volume ls:\n%s", ls)
			}
			if got := must(t, c, "volume", "ls", "-q", "--filter", "label=team=a"); got != vol {
				t.Fatalf("ls -q filtered %q", got)
			}
			got := must(t, c, "volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels.team}}", vol)
			want := vol + " local " + filepath.Join(d.DataRoot, "volumes", vol, "_data") + " a"
			if got != want {
				t.Fatalf("inspect %q, want %q", got, want)
			}
			// In use: removal refused with Docker's wording.
			name := testutil.UniqueName(t, "user")
			id := must(t, c, "create", "--name", name, "-v", vol+":/data", "busybox", "true")
			_, stderr, code := c.run(t, "volume", "rm", vol)
			if code == 0 || !strings.Contains(stderr, "remove "+vol+": volume is in use - ["+id+"]") {
				t.Fatalf("rm in use: exit %d stderr %q", code, stderr)
			}
			mounts := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}", name)
			if mounts != "volume "+vol+" /data true" {
				t.Fatalf("container mounts %q", mounts)
			}
			must(t, c, "rm", name)
			if got := must(t, c, "volume", "rm", vol); got != vol {
				t.Fatalf("volume rm printed %q", got)
			}
			if _, _, code := c.run(t, "volume", "inspect", vol); code == 0 {
				t.Fatal("volume still there after rm")
			}
			ev := must(t, c, "events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
				"--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}")
			for _, want := range []string{"create " + vol, "mount " + vol, "unmount " + vol, "destroy " + vol} {
				if !strings.Contains(ev+"\n", want+"\n") {
					t.Errorf("events lack %q:\n%s", want, ev)
				}
			}
		})
	}
}

func TestBindAndTmpfsMounts(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("from host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := must(t, c, "run", "--rm", "-v", dir+":/h:ro", "busybox", "cat", "/h/hello"); got != "from host" {
				t.Fatalf("bind read %q", got)
			}
			_, _, code := c.run(t, "run", "--rm", "-v", dir+":/h:ro", "busybox", "touch", "/h/new")
			if code == 0 {
				t.Fatal("write to a read-only bind succeeded")
			}
			must(t, c, "run", "--rm", "-v", dir+":/h", "busybox", "sh", "-c", "echo hi > /h/rw")
			if b, err := os.ReadFile(filepath.Join(dir, "rw")); err != nil || string(b) != "hi\n" {
				t.Fatalf("rw bind wrote %q %v", b, err)
			}
			// A missing host directory is created, as Docker does for -v.
			missing := filepath.Join(dir, "made", "here")
			must(t, c, "run", "--rm", "-v", missing+":/m", "busybox", "true")
			if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
				t.Fatalf("host dir not created: %v", err)
			}
			got := must(t, c, "run", "--rm", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c", "grep ' /scratch ' /proc/mounts")
			if !strings.HasPrefix(got, "tmpfs /scratch tmpfs") || !strings.Contains(got, "size=1024k") {
				t.Fatalf("tmpfs mount %q", got)
			}
		})
	}
}

func TestAnonymousVolumesRemovedWithContainer(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "anon")
			must(t, c, "run", "--name", name, "-v", "/anon", "busybox", "sh", "-c", "echo x > /anon/f")
			vol := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", name)
			if len(vol) != 64 {
				t.Fatalf("anonymous volume name %q", vol)
			}
			if got := must(t, c, "volume", "ls", "-q", "--filter", "dangling=false"); !strings.Contains(got, vol) {
				t.Fatalf("volume ls dangling=false %q", got)
			}
			must(t, c, "rm", "-v", name)
			if got := must(t, c, "volume", "ls", "-q"); strings.Contains(got, vol) {
				t.Fatalf("rm -v left the anonymous volume: %q", got)
			}
			// --rm removes them too.
			must(t, c, "run", "--rm", "-v", "/anon2", "busybox", "true")
			if got := must(t, c, "volume", "ls", "-q"); got != "" {
				t.Fatalf("--rm left volumes: %q", got)
			}
			// prune removes unused anonymous volumes only.
			keep := testutil.UniqueName(t, "keep")
			must(t, c, "volume", "create", keep)
			name2 := testutil.UniqueName(t, "anon")
			must(t, c, "run", "--name", name2, "-v", "/anon3", "busybox", "true")
			must(t, c, "rm", name2)
			out := must(t, c, "volume", "prune", "-f")
			if !strings.Contains(out, "Deleted Volumes:") || !strings.Contains(out, "Total reclaimed space:") {
				t.Fatalf("prune output %q", out)
			}
			if got := must(t, c, "volume", "ls", "-q"); got != keep {
				t.Fatalf("after prune %q", got)
			}
			must(t, c, "volume", "rm", keep)
		})
	}
}

func TestVolumeCopyUpAndRestart(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			// A new empty volume over /etc gets the image's /etc first.
			vol := testutil.UniqueName(t, "etc")
			got := must(t, c, "run", "--rm", "-v", vol+":/etc", "busybox", "sh", "-c", "grep -c ^root: /etc/passwd; cat /etc/hostname >/dev/null && echo ok")
			if got != "1\nok" {
				t.Fatalf("copy-up: %q", got)
			}
			mp := must(t, c, "volume", "inspect", "-f", "{{.Mountpoint}}", vol)
			if _, err := os.Stat(filepath.Join(mp, "passwd")); err != nil {
				t.Fatalf("volume lacks copied passwd: %v", err)
			}
			// nocopy leaves a new volume empty.
			empty := testutil.UniqueName(t, "nocopy")
			if got := must(t, c, "run", "--rm", "-v", empty+":/etc:nocopy", "busybox", "ls", "/etc"); strings.Contains(got, "passwd") {
				t.Fatalf("nocopy volume got content: %q", got)
			}
			// Bad specs fail at create with Docker's wording.
			_, stderr, code := c.run(t, "create", "-v", "a:b:c:d", "busybox", "true")
			if code == 0 || !strings.Contains(stderr, "invalid volume specification") {
				t.Fatalf("bad spec: exit %d %q", code, stderr)
			}
			name := testutil.UniqueName(t, "holder")
			must(t, c, "create", "--name", name, "-v", vol+":/etc", "busybox", "true")
			must(t, c, "rm", name)
			must(t, c, "volume", "rm", vol, empty)
		})
	}
	// References survive a daemon restart: a volume in use stays protected.
	c := clis(t, d)[0]
	vol := testutil.UniqueName(t, "kept")
	name := testutil.UniqueName(t, "holder")
	must(t, c, "run", "--name", name, "-v", vol+":/data", "busybox", "sh", "-c", "echo kept > /data/f")
	d.Restart(t)
	if _, stderr, code := c.run(t, "volume", "rm", vol); code == 0 || !strings.Contains(stderr, "volume is in use") {
		t.Fatalf("rm after restart: exit %d %q", code, stderr)
	}
	if got := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", name); got != vol {
		t.Fatalf("mounts after restart %q", got)
	}
	if got := must(t, c, "start", "-a", name); got != "" {
		t.Fatalf("restart output %q", got)
	}
	must(t, c, "rm", name)
	must(t, c, "volume", "rm", vol)
}

func TestMountFlag(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			vol := testutil.UniqueName(t, "m")
			dir := t.TempDir()
			got := must(t, c, "run", "--rm",
				"--mount", "type=volume,source="+vol+",target=/v",
				"--mount", "type=bind,source="+dir+",target=/b,readonly",
				"--mount", "type=tmpfs,target=/t,tmpfs-size=2m",
				"busybox", "sh", "-c", "echo v > /v/f && cat /v/f; touch /b/x 2>/dev/null || echo ro; grep ' /t ' /proc/mounts")
			lines := strings.Split(got, "\n")
			if len(lines) != 3 || lines[0] != "v" || lines[1] != "ro" || !strings.Contains(lines[2], "tmpfs /t tmpfs") || !strings.Contains(lines[2], "size=2048k") {
				t.Fatalf("mounts:\n%s", got)
			}
			_, stderr, code := c.run(t, "run", "--rm", "--mount", "type=bind,source=/nonexistent-berth-src,target=/x", "busybox", "true")
			if code == 0 || !strings.Contains(stderr, "bind source path does not exist: /nonexistent-berth-src") {
				t.Fatalf("missing bind source: exit %d %q", code, stderr)
			}
			must(t, c, "volume", "rm", vol)
		})
	}
}

func TestDeviceVolume(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			vol := testutil.UniqueName(t, "tmp")
			must(t, c, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", vol)
			got := must(t, c, "run", "--rm", "-v", vol+":/t", "busybox", "sh", "-c", "echo x > /t/f; grep ' /t ' /proc/mounts")
			if !strings.HasPrefix(got, "tmpfs /t tmpfs") || !strings.Contains(got, "size=2048k") {
				t.Fatalf("device volume mount %q", got)
			}
			if got := must(t, c, "volume", "inspect", "-f", "{{.Options.type}} {{.Options.o}}", vol); got != "tmpfs size=2m" {
				t.Fatalf("inspect options %q", got)
			}
			// Unmounted after its last user: the host _data is plain again.
			mp := must(t, c, "volume", "inspect", "-f", "{{.Mountpoint}}", vol)
			if _, err := os.Stat(filepath.Join(mp, "f")); !os.IsNotExist(err) {
				t.Fatalf("tmpfs still mounted on %s: %v", mp, err)
			}
			_, stderr, code := c.run(t, "volume", "create", "-o", "type=tmpfs", testutil.UniqueName(t, "bad"))
			if code == 0 || !strings.Contains(stderr, `missing required option: "device"`) {
				t.Fatalf("missing device: exit %d %q", code, stderr)
			}
			must(t, c, "volume", "rm", vol)
			// A bind "device": written through, and removing the volume
			// leaves the host directory's files alone.
			dir := t.TempDir()
			bvol := testutil.UniqueName(t, "bindvol")
			must(t, c, "volume", "create", "-o", "type=none", "-o", "device="+dir, "-o", "o=bind", bvol)
			must(t, c, "run", "--rm", "-v", bvol+":/b", "busybox", "sh", "-c", "echo hi > /b/f")
			must(t, c, "volume", "rm", bvol)
			if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "hi\n" {
				t.Fatalf("host file after volume rm: %q %v", b, err)
			}
		})
	}
}
