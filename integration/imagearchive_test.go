package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"

	"github.com/moby/moby/client"
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

// TestLoadStdinAndSaveRepo: load reads stdin; save of a bare repository
// name saves every tag of it.
func TestLoadStdinAndSaveRepo(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	arc := string(mkLegacyArchive(t, []testImage{deletionImage(t, "stdin:1")}, nil))
	inputs := map[string]func(stdin string, args ...string) (string, string, int){
		"berth": func(in string, a ...string) (string, string, int) { return d.BerthInput(t, in, a...) },
	}
	for _, c := range clis(t, d) {
		if c.name == "docker" {
			inputs["docker"] = func(in string, a ...string) (string, string, int) { return d.DockerInput(t, in, a...) }
		}
	}
	for name, run := range inputs {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := run(arc, "load")
			if code != 0 || strings.TrimSpace(stdout) != "Loaded image: stdin:1" {
				t.Fatalf("load from stdin: exit %d %q %q", code, stdout, stderr)
			}
			c := cliFor(t, d, name)
			must(t, c, "tag", "stdin:1", "stdin:2")
			out := t.TempDir() + "/repo.tar"
			must(t, c, "save", "-o", out, "stdin")
			files, _ := readArchive(t, out)
			var manifest []struct{ RepoTags []string }
			json.Unmarshal(files["manifest.json"], &manifest)
			if len(manifest) != 1 || strings.Join(manifest[0].RepoTags, ",") != "stdin:1,stdin:2" {
				t.Fatalf("save of a repository: %s", files["manifest.json"])
			}
			if _, stderr, code := c.run(t, "save", "-o", out, "nosuch:1"); code == 0 || !strings.Contains(stderr, "No such image: nosuch:1") {
				t.Fatalf("save of a missing image: exit %d %q", code, stderr)
			}
			must(t, c, "rmi", "stdin:1", "stdin:2")
			// docker save | gzip > x.tar.gz; docker load -i x.tar.gz
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write([]byte(arc))
			zw.Close()
			if got := must(t, c, "load", "-i", writeTemp(t, "a.tar.gz", gz.Bytes())); got != "Loaded image: stdin:1" {
				t.Fatalf("load of a gzip'd archive printed %q", got)
			}
			must(t, c, "rmi", "stdin:1")
		})
	}
}

// TestLoadProgress: without quiet (a terminal), load streams Docker's
// "Loading layer" progress before the result.
func TestLoadProgress(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	arc := mkLegacyArchive(t, []testImage{deletionImage(t, "prog:1")}, nil)
	res, err := d.Client(t).ImageLoad(context.Background(), bytes.NewReader(arc), client.ImageLoadWithQuiet(false))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	body, _ := io.ReadAll(res)
	if !strings.Contains(string(body), `"status":"Loading layer","progressDetail":{"current":`) ||
		!strings.HasSuffix(strings.TrimSpace(string(body)), `{"stream":"Loaded image: prog:1\n"}`) {
		t.Fatalf("load stream:\n%s", body)
	}
}

// TestLoadPre110Layout loads the layout Docker before 1.10 wrote: no
// manifest.json, a repositories file and <id>/json + <id>/layer.tar per
// layer linked by parent IDs.
func TestLoadPre110Layout(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	base, top := strings.Repeat("1", 64), strings.Repeat("2", 64)
	put(base+"/json", []byte(`{"id":"`+base+`","created":"2015-01-01T00:00:00Z","os":"linux","container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD file:rootfs in /"]},"config":{"Cmd":["sh"]}}`))
	put(base+"/layer.tar", busyboxLayer(t))
	put(top+"/json", []byte(`{"id":"`+top+`","parent":"`+base+`","created":"2015-01-02T00:00:00Z","os":"linux","author":"me","container_config":{"Cmd":["/bin/sh","-c","echo v1 > /v1"]},"config":{"Cmd":["cat","/v1"]}}`))
	put(top+"/layer.tar", mkLayer(t, tarEnt{name: "v1", body: "from v1\n"}))
	put("repositories", []byte(`{"old/v1img":{"1":"`+top+`"}}`))
	tw.Close()
	arc := writeTemp(t, "v1.tar", buf.Bytes())
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			if got := must(t, c, "load", "-i", arc); got != "Loaded image: old/v1img:1" {
				t.Fatalf("load printed %q", got)
			}
			if got := must(t, c, "run", "--rm", "old/v1img:1"); got != "from v1" {
				t.Fatalf("run: %q", got)
			}
			h := must(t, c, "history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "old/v1img:1")
			if h != "/bin/sh -c echo v1 > /v1|\n/bin/sh -c #(nop) ADD file:rootfs in /|" {
				t.Fatalf("history %q", h)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{.Author}} {{len .RootFS.Layers}}", "old/v1img:1"); got != "me 2" {
				t.Fatalf("inspect %q", got)
			}
			must(t, c, "rmi", "old/v1img:1")
		})
	}
}

// TestSaveWithoutSplit: a layer whose tar split is gone (stored by an
// older berth) cannot be given back byte for byte; save says so instead of
// writing an archive whose layers do not match the image.
func TestSaveWithoutSplit(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	src := writeTemp(t, "src.tar", mkLegacyArchive(t, []testImage{deletionImage(t, "nosplit:1")}, nil))
	if _, stderr, code := d.Berth(t, "load", "-i", src); code != 0 {
		t.Fatal(stderr)
	}
	splits, _ := filepath.Glob(filepath.Join(d.DataRoot, "image/tarsplit/*.gz"))
	if len(splits) != 3 {
		t.Fatalf("want a split per layer, have %v", splits)
	}
	for _, p := range splits {
		os.Remove(p)
	}
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir() + "/x.tar"
			_, stderr, code := c.run(t, "save", "-o", out, "nosplit:1")
			if code == 0 || !strings.Contains(stderr, "cannot be reproduced byte for byte") {
				t.Fatalf("save without splits: exit %d %q", code, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a failed save left its output file")
			}
		})
	}
}
