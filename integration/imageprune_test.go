package integration

import (
	"archive/tar"
	"os/exec"
	"strings"
	"testing"

	"berth/internal/testutil"
)

func loadArchive(t *testing.T, c cli, imgs ...testImage) string {
	t.Helper()
	return must(t, c, "load", "-i", writeTemp(t, "a.tar", mkLegacyArchive(t, imgs, nil)))
}

func TestImagePruneDfAndRmiRules(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, c := range clis(t, testutil.StartDaemon(t)) {
		t.Run(c.name, func(t *testing.T) {
			d := testutil.StartDaemon(t)
			c := cliFor(t, d, c.name)
			base := busyboxLayer(t)
			loadArchive(t, c, testImage{tags: []string{"keep:1"}, layers: [][]byte{base, mkLayer(t, tarEnt{name: "k", body: "k"})}, labels: map[string]string{"keep": "yes"}})
			loadArchive(t, c, testImage{tags: []string{"dang:1"}, layers: [][]byte{base, mkLayer(t, tarEnt{name: "old", body: "old"})}})
			oldID := must(t, c, "image", "inspect", "-f", "{{.Id}}", "dang:1")
			out := loadArchive(t, c, testImage{tags: []string{"dang:1"}, layers: [][]byte{base, mkLayer(t, tarEnt{name: "new", body: "new"})}})
			if !strings.Contains(out, "The image dang:1 already exists, renaming the old one with ID "+oldID+" to empty string") {
				t.Fatalf("retag on load: %q", out)
			}
			if got := must(t, c, "images", "-q", "--no-trunc", "--filter", "dangling=true"); got != oldID {
				t.Fatalf("dangling images: %q, want %s", got, oldID)
			}
			keepID := must(t, c, "image", "inspect", "-f", "{{.Id}}", "keep:1")
			if got := must(t, c, "images", "--format", "{{.Repository}}", "--filter", "label=keep=yes"); got != "keep" {
				t.Fatalf("label filter: %q", got)
			}
			if got := must(t, c, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=dang"); got != "dang:1" {
				t.Fatalf("reference filter: %q", got)
			}

			// A stopped container keeps keep:1: rmi refuses with Docker's words.
			cid := must(t, c, "create", "keep:1", "true")
			_, stderr, code := c.run(t, "rmi", "keep:1")
			if code == 0 || !strings.Contains(stderr, `conflict: unable to remove repository reference "keep:1" (must force) - container `+cid[:12]+" is using its referenced image "+keepID[7:19]) {
				t.Fatalf("rmi of a used image: exit %d %q", code, stderr)
			}
			_, stderr, code = c.run(t, "rmi", keepID)
			if code == 0 || !strings.Contains(stderr, "conflict: unable to delete "+keepID[7:19]+" (must be forced) - image is being used by stopped container "+cid[:12]) {
				t.Fatalf("rmi by ID of a used image: exit %d %q", code, stderr)
			}

			// Dangling prune takes the old dang:1 only.
			out = must(t, c, "image", "prune", "-f")
			if !strings.HasPrefix(out, "Deleted Images:\ndeleted: "+oldID) || !strings.Contains(out, "Total reclaimed space:") {
				t.Fatalf("image prune: %q", out)
			}
			if _, _, code := c.run(t, "image", "inspect", oldID); code == 0 {
				t.Fatal("pruned image still there")
			}
			if got := must(t, c, "image", "prune", "-f"); got != "Total reclaimed space: 0B" {
				t.Fatalf("second prune: %q", got)
			}

			// system df: keep:1 is active, dang:1 reclaimable.
			df := must(t, c, "system", "df")
			lines := strings.Split(df, "\n")
			if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "TYPE TOTAL ACTIVE SIZE RECLAIMABLE" ||
				!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "Images 2 1 ") ||
				!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "Containers 1 0 ") ||
				!strings.HasPrefix(lines[3], "Local Volumes") || !strings.HasPrefix(lines[4], "Build Cache") {
				t.Fatalf("system df:\n%s", df)
			}
			v := must(t, c, "system", "df", "-v")
			if !strings.HasPrefix(v, "Images space usage:\n\nREPOSITORY") || !strings.Contains(v, "\nContainers space usage:\n\nCONTAINER ID") ||
				!strings.Contains(v, cid[:12]) || !strings.Contains(v, "\nLocal Volumes space usage:\n\nVOLUME NAME") || !strings.Contains(v, "Build cache usage: 0B") {
				t.Fatalf("system df -v:\n%s", v)
			}

			// prune -a with a label filter spares what does not match; then
			// everything no container uses goes.
			if got := must(t, c, "image", "prune", "-a", "-f", "--filter", "label=nosuch"); got != "Total reclaimed space: 0B" {
				t.Fatalf("prune -a with a label nothing has: %q", got)
			}
			out = must(t, c, "image", "prune", "-a", "-f")
			if !strings.Contains(out, "untagged: dang:1") || strings.Contains(out, "keep") {
				t.Fatalf("image prune -a: %q", out)
			}
			if got := must(t, c, "images", "-q", "--no-trunc"); got != keepID {
				t.Fatalf("after prune -a: %q", got)
			}
			must(t, c, "rm", cid)
		})
	}
}

// cliFor is the named CLI against daemon d.
func cliFor(t *testing.T, d *testutil.Daemon, name string) cli {
	for _, c := range clis(t, d) {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no CLI %s", name)
	return cli{}
}

func TestImageInspectStorageFields(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "insp-" + c.name + ":1"
			loadArchive(t, c, testImage{tags: []string{ref}, layers: [][]byte{busyboxLayer(t),
				mkLayer(t, tarEnt{name: "x/", typ: tar.TypeDir}, tarEnt{name: "x/y", body: "y"})}})
			if got := must(t, c, "image", "inspect", "-f", "{{len .RootFS.Layers}} {{.RootFS.Type}}", ref); got != "2 layers" {
				t.Fatalf("RootFS: %q", got)
			}
			gd := must(t, c, "image", "inspect", "-f", "{{.GraphDriver.Name}}|{{.GraphDriver.Data.UpperDir}}|{{.GraphDriver.Data.LowerDir}}|{{.GraphDriver.Data.MergedDir}}", ref)
			parts := strings.Split(gd, "|")
			if parts[0] == "overlay2" {
				if !strings.HasPrefix(parts[1], d.DataRoot) || !strings.HasSuffix(parts[1], "/diff") || !strings.HasSuffix(parts[2], "/diff") || !strings.HasSuffix(parts[3], "/merged") {
					t.Fatalf("GraphDriver: %q", gd)
				}
			}
			if got := must(t, c, "image", "inspect", "-f", "{{.Size}}", ref); got == "0" {
				t.Fatalf("Size %q", got)
			}
			if got := must(t, c, "images", "--digests", "--format", "{{.Repository}} {{.Digest}}", "insp-"+c.name); got != "insp-"+c.name+" <none>" {
				t.Fatalf("images --digests: %q", got)
			}
		})
	}
	// The Docker CLI speaks API 1.50, which still has Parent and DockerVersion.
	if _, err := exec.LookPath("docker"); err == nil {
		raw, _, _ := d.Docker(t, "image", "inspect", "insp-docker:1")
		if !strings.Contains(raw, `"Parent": ""`) || !strings.Contains(raw, `"DockerVersion": ""`) {
			t.Fatalf("API 1.50 inspect lacks Parent/DockerVersion:\n%s", raw)
		}
	}
	raw, _, _ := d.Berth(t, "image", "inspect", "insp-berth:1")
	if strings.Contains(raw, `"DockerVersion"`) {
		t.Fatalf("current API inspect still has DockerVersion:\n%s", raw)
	}
}
