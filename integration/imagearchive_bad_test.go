package integration

import (
	"archive/tar"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// storeState lists what the daemon's image store holds on disk: image
// configs, layer records, driver layers and references.
func storeState(t *testing.T, d *testutil.Daemon) string {
	t.Helper()
	var out []string
	for _, dir := range []string{"image/configs/sha256", "image/layers/sha256", "image/tarsplit", "storage/overlay2", "storage/vfs"} {
		ents, _ := os.ReadDir(filepath.Join(d.DataRoot, dir))
		for _, e := range ents {
			if e.Name() == "l" || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			out = append(out, dir+"/"+e.Name())
		}
	}
	refs, _ := os.ReadFile(filepath.Join(d.DataRoot, "image/repositories.json"))
	sort.Strings(out)
	return strings.Join(out, "\n") + "\nrefs: " + string(refs)
}

// sentinel is a directory outside every layer whose contents a hostile
// layer must not change.
func sentinel(t *testing.T) (dir string, check func()) {
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, func() {
		t.Helper()
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("something was written outside the layer: %v", names)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "secret")); err != nil || string(b) != "orig" {
			t.Fatalf("sentinel file changed: %q %v", b, err)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "secret")); err != nil || fi.Mode()&os.ModeType != 0 {
			t.Fatalf("sentinel file replaced: %v", err)
		}
	}
}

// hostileLayers are layer tars that try to write outside the layer
// directory, keyed by name; o is the absolute sentinel directory.
func hostileLayers(t *testing.T, o string) map[string][]byte {
	up := strings.Repeat("../", 40)
	rel := strings.TrimPrefix(o, "/")
	return map[string][]byte{
		"dotdot":           mkLayer(t, tarEnt{name: up + rel + "/pwn", body: "x"}),
		"dotdot in middle": mkLayer(t, tarEnt{name: "a/b/" + up + rel + "/pwn", body: "x"}),
		"absolute":         mkLayer(t, tarEnt{name: o + "/pwn", body: "x"}),
		"symlink absolute": mkLayer(t, tarEnt{name: "l", typ: tar.TypeSymlink, link: o}, tarEnt{name: "l/pwn", body: "x"}),
		"symlink relative": mkLayer(t, tarEnt{name: "l", typ: tar.TypeSymlink, link: up + rel}, tarEnt{name: "l/pwn", body: "x"}),
		"symlink to root":  mkLayer(t, tarEnt{name: "r", typ: tar.TypeSymlink, link: "/"}, tarEnt{name: "r/" + rel + "/pwn", body: "x"}),
		"file over symlink": mkLayer(t, tarEnt{name: "s", typ: tar.TypeSymlink, link: o + "/secret"},
			tarEnt{name: "s", body: "pwned"}),
		"hardlink absolute": mkLayer(t, tarEnt{name: "h", typ: tar.TypeLink, link: o + "/secret"},
			tarEnt{name: "h", body: "pwned"}),
		"hardlink dotdot": mkLayer(t, tarEnt{name: "h", typ: tar.TypeLink, link: up + rel + "/secret"}),
		"hardlink via symlink": mkLayer(t, tarEnt{name: "l", typ: tar.TypeSymlink, link: o},
			tarEnt{name: "h", typ: tar.TypeLink, link: "l/secret"}),
		"whiteout via symlink": mkLayer(t, tarEnt{name: "l", typ: tar.TypeSymlink, link: o}, tarEnt{name: "l/.wh.secret"}),
		"opaque via symlink":   mkLayer(t, tarEnt{name: "l", typ: tar.TypeSymlink, link: o}, tarEnt{name: "l/.wh..wh..opq"}),
		"device nodes": mkLayer(t, tarEnt{name: "mem", typ: tar.TypeChar, major: 1, minor: 1},
			tarEnt{name: "l", typ: tar.TypeSymlink, link: o}, tarEnt{name: "l/blk", typ: tar.TypeBlock, major: 7, minor: 0},
			tarEnt{name: "l/fifo", typ: tar.TypeFifo}),
	}
}

// TestLoadAndImportHostileLayers feeds each hostile layer through load
// (as an image's layer) and import: whatever the outcome, nothing outside
// the layer directory changes.
func TestLoadAndImportHostileLayers(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	outside, check := sentinel(t)
	layers := hostileLayers(t, outside)
	names := make([]string, 0, len(layers))
	for n := range layers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, c := range clis(t, d) {
		for i, name := range names {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				ref := "hostile-" + c.name + ":" + strings.Repeat("x", i+1)
				arc := writeTemp(t, "h.tar", mkLegacyArchive(t, []testImage{{tags: []string{ref}, layers: [][]byte{layers[name]}}}, nil))
				_, lerr, lcode := c.run(t, "load", "-i", arc)
				check()
				raw := writeTemp(t, "raw.tar", layers[name])
				_, ierr, icode := c.run(t, "import", raw, ref+"-imp")
				check()
				t.Logf("load: exit %d %s; import: exit %d %s", lcode, strings.TrimSpace(lerr), icode, strings.TrimSpace(ierr))
				c.run(t, "rmi", ref, ref+"-imp")
			})
		}
	}
}

// TestLoadBadArchives: a truncated or corrupt archive, a corrupt layer, a
// wrong diff ID and a manifest.json naming a missing file fail with a
// clear error and store nothing.
func TestLoadBadArchives(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	good := mkLegacyArchive(t, []testImage{{tags: []string{"bad:1"},
		layers: [][]byte{mkLayer(t, tarEnt{name: "a", body: strings.Repeat("a", 4096)}), mkLayer(t, tarEnt{name: "b", body: "b"})}}}, nil)
	layer2 := mkLayer(t, tarEnt{name: "b", body: "b"})
	cases := []struct {
		name    string
		archive []byte
		want    string // in the error
	}{
		{"truncated archive", good[:len(good)/2], "invalid image archive"},
		{"not a tar", []byte(strings.Repeat("garbage!", 512)), "invalid image archive"},
		{"missing layer file", mkLegacyArchive(t, []testImage{{tags: []string{"bad:1"}, layers: [][]byte{layer2}}}, func(m []map[string]any) {
			m[0]["Layers"] = []string{"nosuchdir/layer.tar"}
		}), "nosuchdir/layer.tar is not in the archive"},
		{"missing config", mkLegacyArchive(t, []testImage{{tags: []string{"bad:1"}, layers: [][]byte{layer2}}}, func(m []map[string]any) {
			m[0]["Config"] = "../../etc/passwd"
		}), "etc/passwd is not in the archive"},
		{"layer count mismatch", mkLegacyArchive(t, []testImage{{tags: []string{"bad:1"}, layers: [][]byte{layer2}}}, func(m []map[string]any) {
			m[0]["Layers"] = []string{}
		}), "invalid manifest, layers length mismatch: expected 0, got 1"},
		{"corrupt second layer", corruptLayer(t, good, 1), "invalid"},
		{"wrong diff ID", wrongDiffID(t), "invalid diffID for layer 1"},
		{"neither manifest nor index", mkLayer(t, tarEnt{name: "hello", body: "x"}), "neither manifest.json nor index.json"},
	}
	before := storeState(t, d)
	for _, c := range clis(t, d) {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				p := writeTemp(t, "bad.tar", tc.archive)
				stdout, stderr, code := c.run(t, "load", "-i", p)
				if code == 0 || !strings.Contains(stderr, tc.want) {
					t.Fatalf("load: exit %d, want error with %q\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
				}
				if after := storeState(t, d); after != before {
					t.Fatalf("a failed load stored something:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	}
}

// corruptLayer replaces layer i's tar in a legacy archive with a cut one
// (the archive itself stays a valid tar).
func corruptLayer(t *testing.T, _ []byte, i int) []byte {
	l1 := mkLayer(t, tarEnt{name: "a", body: strings.Repeat("a", 4096)})
	l2 := mkLayer(t, tarEnt{name: "b", body: strings.Repeat("b", 4096)})
	img := testImage{tags: []string{"bad:1"}, layers: [][]byte{l1, l2}}
	return mkLegacyArchive(t, []testImage{img}, func(m []map[string]any) {
		m[0]["Layers"] = []string{m[0]["Layers"].([]string)[0], "cut/layer.tar"}
	}, tarFile{"cut/layer.tar", l2[:700]})
}

// wrongDiffID names a layer whose content is not the config's diff ID.
func wrongDiffID(t *testing.T) []byte {
	l1 := mkLayer(t, tarEnt{name: "a", body: "a"})
	l2 := mkLayer(t, tarEnt{name: "b", body: "b"})
	other := mkLayer(t, tarEnt{name: "c", body: "c"})
	img := testImage{tags: []string{"bad:1"}, layers: [][]byte{l1, l2}}
	return mkLegacyArchive(t, []testImage{img}, func(m []map[string]any) {
		m[0]["Layers"] = []string{m[0]["Layers"].([]string)[0], "other/layer.tar"}
	}, tarFile{"other/layer.tar", other})
}
