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

func TestDiffAndExport(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	const script = "echo a > /tmp/new; echo extra >> /etc/passwd; rm /bin/ls; mkdir -p /newdir; echo f > /newdir/f; echo vol > /data/in-volume"
	const want = "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /newdir\nA /newdir/f\nC /tmp\nA /tmp/new"
	for _, c := range clis(t, d) {
		for _, running := range []bool{true, false} {
			mode := "stopped"
			if running {
				mode = "running"
			}
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				name := testutil.UniqueName(t, "diff")
				if running {
					must(t, c, "run", "-d", "--name", name, "-v", "/data", "busybox", "sh", "-c", script+"; sleep 1000")
					waitFor(t, 10e9, func() bool { return must(t, c, "diff", name) == want })
				} else {
					must(t, c, "run", "--name", name, "-v", "/data", "busybox", "sh", "-c", script)
				}
				t.Cleanup(func() { d.Berth(t, "rm", "-f", "-v", name) })
				if got := must(t, c, "diff", name); got != want {
					t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
				}
				// export to stdout and with -o: the same flattened tree,
				// the changes in, the volume out.
				stdout, _, code := c.run(t, "export", name)
				if code != 0 {
					t.Fatalf("export exit %d", code)
				}
				files := tarNames(t, stdout)
				for p, content := range map[string]string{"tmp/new": "a\n", "newdir/f": "f\n", "bin/busybox": ""} {
					got, ok := files[p]
					if !ok || (content != "" && got != content) {
						t.Fatalf("export lacks %s (%q)", p, got)
					}
				}
				if !strings.HasSuffix(files["etc/passwd"], "extra\n") {
					t.Fatalf("export etc/passwd %q", files["etc/passwd"])
				}
				if _, ok := files["bin/ls"]; ok {
					t.Fatal("export has the deleted bin/ls")
				}
				if _, ok := files["data/in-volume"]; ok {
					t.Fatal("export has the volume's content")
				}
				out := filepath.Join(t.TempDir(), "box.tar")
				must(t, c, "export", "-o", out, name)
				b, err := os.ReadFile(out)
				if err != nil || len(tarNames(t, string(b))) != len(files) {
					t.Fatalf("export -o: %d entries, %v", len(tarNames(t, string(b))), err)
				}
				ev := must(t, c, "events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
					"--filter", "container="+name, "--filter", "event=export", "--format", "{{.Action}}")
				if !strings.Contains(ev, "export") {
					t.Fatalf("no export event: %q", ev)
				}
				// Round trip: the export imported as an image runs with the
				// container's files.
				img := testutil.UniqueName(t, "exported")
				must(t, c, "import", out, img)
				t.Cleanup(func() { d.Berth(t, "rmi", "-f", img) })
				if got := must(t, c, "run", "--rm", img, "sh", "-c", "cat /tmp/new /newdir/f; ls /bin/ls 2>/dev/null || echo gone"); got != "a\nf\ngone" {
					t.Fatalf("imported export runs with %q", got)
				}
			})
		}
	}
	c := clis(t, d)[0]
	_, stderr, code := c.run(t, "diff", "nonexistent-ctr")
	if code != 1 || !strings.Contains(stderr, "No such container: nonexistent-ctr") {
		t.Fatalf("diff of a missing container: %d %q", code, stderr)
	}
	_, stderr, code = c.run(t, "export", "-o", "/nonexistent-dir/x.tar", "nonexistent-ctr")
	if code != 1 || !strings.Contains(stderr, `failed to export container: invalid output path: directory "/nonexistent-dir" does not exist`) {
		t.Fatalf("export to a missing dir: %d %q", code, stderr)
	}
}

func TestContainerPrune(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			labelled := must(t, c, "create", "--label", "prune=me", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big")
			must(t, c, "start", "-a", labelled)
			plain := must(t, c, "create", "busybox", "true")
			up := must(t, c, "run", "-d", "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", labelled, plain, up) })
			// Created just now: an until an hour back keeps everything.
			if got := must(t, c, "container", "prune", "-f", "--filter", "until=1h"); got != "Total reclaimed space: 0B" {
				t.Fatalf("prune until=1h: %q", got)
			}
			got := must(t, c, "container", "prune", "-f", "--filter", "label=prune=me")
			if !strings.HasPrefix(got, "Deleted Containers:\n"+labelled+"\n\nTotal reclaimed space: 10") || !strings.HasSuffix(got, "kB") {
				t.Fatalf("prune by label:\n%s", got)
			}
			got = must(t, c, "container", "prune", "-f")
			if got != "Deleted Containers:\n"+plain+"\n\nTotal reclaimed space: 0B" {
				t.Fatalf("prune:\n%s", got)
			}
			if st := must(t, c, "inspect", "-f", "{{.State.Status}}", up); st != "running" {
				t.Fatalf("running container after prune: %s", st)
			}
			// Without -f it asks, and "n" keeps everything.
			stopped := must(t, c, "create", "busybox", "true")
			out, _, _ := withInput(d, c, "n\n", "container", "prune")(t)
			if !strings.HasPrefix(out, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ") {
				t.Fatalf("prompt %q", out)
			}
			must(t, c, "inspect", stopped)
			must(t, c, "rm", "-f", up, stopped)
		})
	}
	// system prune: containers and, with --volumes, anonymous volumes; the
	// image in use stays. Through both CLIs, which call the same endpoints.
	for _, c := range clis(t, d) {
		t.Run("system/"+c.name, func(t *testing.T) {
			ctr := must(t, c, "create", "-v", "/anon", "busybox", "true")
			anon := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", ctr)
			named := testutil.UniqueName(t, "keep")
			must(t, c, "volume", "create", named)
			got := must(t, c, "system", "prune", "-f", "--volumes")
			if !strings.Contains(got, "Deleted Containers:\n"+ctr+"\n") || !strings.Contains(got, "Deleted Volumes:\n"+anon+"\n") || !strings.Contains(got, "Total reclaimed space: ") {
				t.Fatalf("system prune:\n%s", got)
			}
			if strings.Contains(got, named) {
				t.Fatalf("system prune took a named volume:\n%s", got)
			}
			must(t, c, "volume", "rm", named)
			must(t, c, "image", "inspect", "busybox")
			out, _, _ := withInput(d, c, "n\n", "system", "prune", "--filter", "label=a=b")(t)
			if !strings.HasPrefix(out, "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\n  Items to be pruned will be filtered with:\n  - label=a=b\n\nAre you sure you want to continue? [y/N] ") {
				t.Fatalf("system prune prompt:\n%s", out)
			}
		})
	}
}

func TestVolumesFromAndReadOnly(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			store := testutil.UniqueName(t, "store")
			dir := t.TempDir()
			must(t, c, "run", "-d", "--name", store, "-v", "/cfg", "-v", dir+":/hostdir", "busybox", "sh", "-c", "echo c > /cfg/f; sleep 1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", "-v", store) })
			waitFor(t, 10e9, func() bool { _, _, code := c.run(t, "exec", store, "cat", "/cfg/f"); return code == 0 })
			if got := must(t, c, "run", "--rm", "--volumes-from", store, "busybox", "sh", "-c", "cat /cfg/f; echo w > /cfg/g; echo h > /hostdir/h"); got != "c" {
				t.Fatalf("volumes-from read %q", got)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "h")); string(b) != "h\n" {
				t.Fatalf("bind through volumes-from: %q", b)
			}
			if got := must(t, c, "run", "--rm", "--volumes-from", store+":ro", "busybox", "sh", "-c", "cat /cfg/g; touch /cfg/x 2>/dev/null || echo ro"); got != "w\nro" {
				t.Fatalf("volumes-from :ro %q", got)
			}
			user := testutil.UniqueName(t, "user")
			must(t, c, "create", "--name", user, "--volumes-from", store, "busybox", "true")
			anon := must(t, c, "inspect", "-f", `{{range .Mounts}}{{if eq .Destination "/cfg"}}{{.Name}}{{end}}{{end}}`, store)
			for _, f := range []string{"volume=" + anon, "volume=/cfg"} {
				got := strings.Fields(must(t, c, "ps", "-a", "--filter", f, "--format", "{{.Names}}"))
				if len(got) != 2 || !(got[0] == user && got[1] == store) {
					t.Fatalf("ps --filter %s: %v", f, got)
				}
			}
			if got := must(t, c, "ps", "-a", "--filter", "volume=/nowhere", "-q"); got != "" {
				t.Fatalf("ps --filter volume=/nowhere: %q", got)
			}
			got := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", user)
			if got != "/cfg:true /hostdir:true" && got != "/hostdir:true /cfg:true" {
				t.Fatalf("mounts from volumes-from %q", got)
			}
			// Removing the user with -v leaves the store's volume.
			must(t, c, "rm", "-v", user)
			if got := must(t, c, "exec", store, "cat", "/cfg/f"); got != "c" {
				t.Fatalf("store volume after rm -v of a user: %q", got)
			}
			// (Docker's CLI takes the 404 for a missing image and tries a
			// pull first, as it does against dockerd.)
			_, stderr, code := c.run(t, "run", "--rm", "--volumes-from", "nonexistent-store", "busybox", "true")
			if code != 125 || c.name == "berth" && !strings.Contains(stderr, "No such container: nonexistent-store") {
				t.Fatalf("volumes-from a missing container: %d %q", code, stderr)
			}
			// --read-only: the root refuses writes, volumes take them, and
			// cp follows the same rule.
			vol := testutil.UniqueName(t, "rw")
			ro := testutil.UniqueName(t, "ro")
			got = must(t, c, "run", "--name", ro, "--read-only", "-v", vol+":/data", "busybox", "sh", "-c", "echo x > /data/f && cat /data/f; touch /x 2>/dev/null || echo rofs")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", ro); d.Berth(t, "volume", "rm", "-f", vol) })
			if got != "x\nrofs" {
				t.Fatalf("read-only with a volume: %q", got)
			}
			src := filepath.Join(t.TempDir(), "f")
			os.WriteFile(src, []byte("cp"), 0o644)
			must(t, c, "cp", src, ro+":/data/")
			roVol := testutil.UniqueName(t, "rovol")
			must(t, c, "create", "--name", roVol, "-v", vol+":/data:ro", "busybox", "true")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", roVol) })
			if _, stderr, code := c.run(t, "cp", src, roVol+":/data/"); code != 1 || !strings.Contains(stderr, "mounted volume is marked read-only") {
				t.Fatalf("cp into a read-only volume: %d %q", code, stderr)
			}
			_, stderr, code = c.run(t, "cp", src, ro+":/tmp/")
			if code != 1 || !strings.Contains(stderr, "container rootfs is marked read-only") {
				t.Fatalf("cp into a read-only root: %d %q", code, stderr)
			}
			// Bind propagation is kept and shown.
			prop := testutil.UniqueName(t, "prop")
			must(t, c, "run", "--name", prop, "-v", dir+":/p:rslave", "--mount", "type=bind,source="+dir+",target=/q,bind-propagation=rshared", "busybox", "true")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", prop) })
			if got := must(t, c, "inspect", "-f", "{{range .Mounts}}{{.Destination}}={{.Propagation}} {{end}}", prop); got != "/p=rslave /q=rshared" {
				t.Fatalf("propagation %q", got)
			}
		})
	}
}

func TestVolumeBadInputAndPersistence(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := c.run(t, "volume", "create", "bad/name")
			if code != 1 || !strings.Contains(stderr, `create bad/name: "bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`) {
				t.Fatalf("invalid name: %d %q", code, stderr)
			}
			_, stderr, code = c.run(t, "volume", "inspect", "nonexistent-vol")
			if code != 1 || !strings.Contains(stderr, "no such volume") {
				t.Fatalf("unknown volume: %d %q", code, stderr)
			}
		})
	}
	// The API's statuses and messages, and the archive routes' bad input.
	name := testutil.UniqueName(t, "api")
	must(t, clis(t, d)[0], "create", "--name", name, "busybox", "true")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
	for _, tt := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/v1.50/volumes/create", `{"Name":"bad name!"}`, 400, `includes invalid characters for a local volume name`},
		{"GET", "/v1.50/volumes/nonexistent-vol", "", 404, "no such volume"},
		{"DELETE", "/v1.50/volumes/nonexistent-vol", "", 404, "no such volume"},
		{"GET", "/v1.50/containers/" + name + "/archive?path=/nope", "", 404, "Could not find the file /nope in container " + name},
		{"GET", "/v1.50/containers/" + name + "/archive", "", 400, "Path cannot be empty"},
		{"HEAD", "/v1.50/containers/" + name + "/archive?path=/nope", "", 404, ""},
		{"PUT", "/v1.50/containers/" + name + "/archive?path=/nope", "", 404, "Could not find the file /nope in container " + name},
		{"PUT", "/v1.50/containers/" + name + "/archive?path=/etc/passwd", "", 400, "extraction point is not a directory"},
		{"PUT", "/v1.50/containers/" + name + "/archive?path=/tmp", "not a tar", 400, ""},
		{"GET", "/v1.50/containers/nonexistent-ctr/changes", "", 404, "No such container: nonexistent-ctr"},
		{"GET", "/v1.50/containers/nonexistent-ctr/export", "", 404, "No such container: nonexistent-ctr"},
		{"POST", `/v1.50/containers/prune?filters={"until":{"yesterday-ish":true}}`, "", 400, `failed to parse value \"yesterday-ish\" of filter`},
		{"POST", `/v1.50/containers/prune?filters={"bogus":{"x":true}}`, "", 400, "invalid filter 'bogus'"},
	} {
		r := apiRequest(t, d, tt.method, tt.path, tt.body)
		if r.code != tt.code || !strings.Contains(r.body, tt.msg) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.method, tt.path, r.code, r.body, tt.code, tt.msg)
		}
	}
	c := clis(t, d)[0]
	vol := testutil.UniqueName(t, "persist")
	must(t, c, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo 1 > /data/x")
	d.Restart(t)
	if got := must(t, c, "run", "--rm", "-v", vol+":/data", "busybox", "cat", "/data/x"); got != "1" {
		t.Fatalf("volume data after a daemon restart: %q", got)
	}
	if mp := must(t, c, "volume", "inspect", "-f", "{{.Mountpoint}}", vol); mp != filepath.Join(d.DataRoot, "volumes", vol, "_data") {
		t.Fatalf("Mountpoint %q", mp)
	}
	must(t, c, "volume", "rm", vol)
}

// TestSystemDf checks the volume usage data (size and links) system df
// reports, through both CLIs' summary and -v tables.
func TestSystemDf(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	used := testutil.UniqueName(t, "used")
	idle := testutil.UniqueName(t, "idle")
	name := testutil.UniqueName(t, "dfuser")
	must(t, c, "run", "--name", name, "-v", used+":/data", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /data/f")
	must(t, c, "volume", "create", idle)
	must(t, c, "run", "--rm", "-v", idle+":/data", "busybox", "sh", "-c", "head -c 3000 /dev/zero > /data/f")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", name); d.Berth(t, "volume", "rm", "-f", used, idle) })
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			out := must(t, c, "system", "df")
			lines := strings.Split(out, "\n")
			if len(lines) != 5 || lines[0] != "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE" {
				t.Fatalf("system df:\n%s", out)
			}
			if !strings.HasPrefix(lines[3], "Local Volumes   2         1         8kB       3kB (37%)") {
				t.Fatalf("volumes line %q", lines[3])
			}
			if !strings.HasPrefix(lines[2], "Containers      1         0 ") || !strings.HasPrefix(lines[1], "Images          1         1 ") {
				t.Fatalf("system df:\n%s", out)
			}
			v := must(t, c, "system", "df", "-v")
			for _, want := range []string{"Local Volumes space usage:\n\nVOLUME NAME", idle + " ", used + " ", "Build cache usage: 0B"} {
				if !strings.Contains(v, want) {
					t.Fatalf("df -v lacks %q:\n%s", want, v)
				}
			}
			for _, l := range strings.Split(v, "\n") {
				f := strings.Fields(l)
				if len(f) == 3 && f[0] == used && (f[1] != "1" || f[2] != "5kB") {
					t.Fatalf("used volume row %q", l)
				}
				if len(f) == 3 && f[0] == idle && (f[1] != "0" || f[2] != "3kB") {
					t.Fatalf("idle volume row %q", l)
				}
			}
		})
	}
}
