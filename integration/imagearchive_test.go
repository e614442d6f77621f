package integration

import (
	"archive/tar"
	"encoding/json"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// deletionImage is busybox plus a layer of files plus a layer that deletes
// one of them and makes a directory opaque.
func deletionImage(t *testing.T, tag string) testImage {
	return testImage{
		tags: []string{tag},
		layers: [][]byte{
			busyboxLayer(t),
			mkLayer(t, tarEnt{name: "gone.txt", body: "bye"}, tarEnt{name: "keep.txt", body: "kept"},
				tarEnt{name: "dir/", typ: tar.TypeDir}, tarEnt{name: "dir/old1", body: "1"}, tarEnt{name: "dir/old2", body: "2"}),
			mkLayer(t, tarEnt{name: ".wh.gone.txt"}, tarEnt{name: "dir/", typ: tar.TypeDir},
				tarEnt{name: "dir/.wh..wh..opq"}, tarEnt{name: "dir/new", body: "n"}),
		},
		history: []string{"busybox rootfs", "/bin/sh -c add files", "/bin/sh -c rm gone.txt; replace dir"},
	}
}

func checkDeletions(t *testing.T, c cli, ref string) {
	t.Helper()
	got := must(t, c, "run", "--rm", ref, "sh", "-c", "ls /dir; cat /keep.txt; echo; test -e /gone.txt && echo present || echo absent")
	if got != "new\nkept\nabsent" {
		t.Fatalf("%s: whiteouts not applied: %q", ref, got)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ref := "arc-" + c.name + ":1"
			src := writeTemp(t, "src.tar", mkLegacyArchive(t, []testImage{deletionImage(t, ref)}, nil))
			if out := must(t, c, "load", "-i", src); out != "Loaded image: "+ref {
				t.Fatalf("load printed %q", out)
			}
			id := must(t, c, "image", "inspect", "-f", "{{.Id}}", ref)
			checkDeletions(t, c, ref)
			must(t, c, "tag", ref, "arc-"+c.name+":2")

			// save -o with two tags of one image, then by stdout.
			out := t.TempDir() + "/out.tar"
			must(t, c, "save", "-o", out, ref, "arc-"+c.name+":2")
			checkSavedArchive(t, out, id, []string{ref, "arc-" + c.name + ":2"})
			stdout, stderr, code := c.run(t, "save", ref)
			if code != 0 || len(stdout) < 1024 {
				t.Fatalf("save to stdout: exit %d, %d bytes, %s", code, len(stdout), stderr)
			}

			must(t, c, "rmi", ref, "arc-"+c.name+":2")
			if _, _, code := c.run(t, "image", "inspect", id); code == 0 {
				t.Fatalf("image %s still there after rmi", id)
			}
			got := must(t, c, "load", "-i", out)
			if got != "Loaded image: "+ref+"\nLoaded image: arc-"+c.name+":2" {
				t.Fatalf("second load printed %q", got)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{.Id}}", ref); got != id {
				t.Fatalf("image ID changed over save/load: %s -> %s", id, got)
			}
			checkDeletions(t, c, ref)

			// By ID: no names, so load reports the ID.
			byID := t.TempDir() + "/byid.tar"
			must(t, c, "save", "-o", byID, id)
			must(t, c, "rmi", ref, "arc-"+c.name+":2")
			if got := must(t, c, "load", "-q", "-i", byID); got != "Loaded image ID: "+id {
				t.Fatalf("load of an ID-only archive printed %q", got)
			}
			must(t, c, "rmi", id)
		})
	}
}

// checkSavedArchive checks the archive is Docker 25+'s layout and every
// layer is byte-exact (its digest is its diff ID).
func checkSavedArchive(t *testing.T, path, id string, tags []string) {
	t.Helper()
	files, order := readArchive(t, path)
	for _, want := range []string{"manifest.json", "index.json", "oci-layout", "repositories"} {
		if files[want] == nil {
			t.Fatalf("archive lacks %s: %v", want, order)
		}
	}
	if order[0] != "blobs/" || order[1] != "blobs/sha256/" {
		t.Fatalf("archive order %v", order)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json %s: %v", files["manifest.json"], err)
	}
	m := manifest[0]
	if m.Config != "blobs/sha256/"+strings.TrimPrefix(id, "sha256:") || strings.Join(m.RepoTags, ",") != strings.Join(tags, ",") {
		t.Fatalf("manifest.json entry %+v", m)
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	json.Unmarshal(files[m.Config], &cfg)
	if "sha256:"+sha(files[m.Config]) != id || len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("config blob does not match %s", id)
	}
	for i, l := range m.Layers {
		if "sha256:"+sha(files[l]) != cfg.RootFS.DiffIDs[i] || l != "blobs/sha256/"+strings.TrimPrefix(cfg.RootFS.DiffIDs[i], "sha256:") {
			t.Fatalf("layer %d (%s) is not byte-exact", i, l)
		}
	}
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != len(tags) {
		t.Fatalf("index.json %s", files["index.json"])
	}
	for _, desc := range idx.Manifests {
		if files["blobs/sha256/"+strings.TrimPrefix(desc.Digest, "sha256:")] == nil || desc.Annotations["io.containerd.image.name"] == "" {
			t.Fatalf("index.json descriptor %+v", desc)
		}
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion": "1.0.0"}` {
		t.Fatalf("oci-layout %q", files["oci-layout"])
	}
}

func TestHistory(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	src := writeTemp(t, "src.tar", mkLegacyArchive(t, []testImage{deletionImage(t, "hist:1")}, nil))
	if _, stderr, code := d.Berth(t, "load", "-i", src); code != 0 {
		t.Fatal(stderr)
	}
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			lines := strings.Split(must(t, c, "history", "hist:1"), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "IMAGE") || !strings.Contains(lines[0], "CREATED BY") ||
				!strings.Contains(lines[1], "/bin/sh -c rm gone.txt; replace dir") || !strings.Contains(lines[3], "busybox rootfs") {
				t.Fatalf("history table:\n%s", strings.Join(lines, "\n"))
			}
			if !strings.HasPrefix(lines[2], "<missing>") {
				t.Fatalf("older entries should be <missing>: %q", lines[2])
			}
			id := must(t, c, "image", "inspect", "-f", "{{.Id}}", "hist:1")
			q := strings.Split(must(t, c, "history", "-q", "--no-trunc", "hist:1"), "\n")
			if q[0] != id || q[1] != "<missing>" {
				t.Fatalf("history -q --no-trunc: %q", q)
			}
			sizes := must(t, c, "history", "-H=false", "--format", "{{.Size}}|{{.CreatedBy}}", "hist:1")
			if !strings.HasPrefix(strings.Split(sizes, "\n")[1], "9|/bin/sh -c add files") {
				t.Fatalf("history sizes: %q", sizes)
			}
			if _, stderr, code := c.run(t, "history", "nosuch:1"); code == 0 || !strings.Contains(stderr, "No such image: nosuch:1") {
				t.Fatalf("history of a missing image: %d %q", code, stderr)
			}
		})
	}
}
