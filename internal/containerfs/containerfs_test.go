package containerfs

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
	"berth/internal/safepath"
	"berth/internal/storage"
)

// tree makes a root with a file, a directory and links that point out.
func tree(t *testing.T, outside string) *safepath.Root {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0\n"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "d", "sub", "f"), []byte("f\n"), 0o600))
	must(os.Symlink("/", filepath.Join(dir, "root")))
	must(os.Symlink("../../../../../..", filepath.Join(dir, "up")))
	must(os.Symlink(outside, filepath.Join(dir, "out")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "pw")))
	r, err := safepath.OpenRoot(dir)
	must(err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestStat(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	r := tree(t, outside)
	tests := []struct {
		path, name, link string
		dir, symlink     bool
		notFound         bool
	}{
		{path: "/", name: "/", dir: true},
		{path: "/etc/passwd", name: "passwd"},
		{path: "etc/../etc/passwd", name: "passwd"},
		{path: "/pw", name: "pw", symlink: true, link: "/etc/passwd"},
		{path: "/root", name: "root", symlink: true, link: "/"},
		{path: "/root/", name: "root", dir: true},
		{path: "/up", name: "up", symlink: true, link: "/"},
		{path: "/root/etc/passwd", name: "passwd"},
		{path: "/up/etc/passwd", name: "passwd"},
		{path: "/out/secret", notFound: true},
		{path: "/up" + outside + "/secret", notFound: true},
		{path: "/nope", notFound: true},
		{path: "/etc/passwd/x", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			st, err := Stat(r, tt.path)
			if tt.notFound {
				if !errdefs.IsNotFound(err) {
					t.Fatalf("want not found, got %v %+v", err, st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != tt.name || st.Mode.IsDir() != tt.dir || (st.Mode&os.ModeSymlink != 0) != tt.symlink || st.LinkTarget != tt.link {
				t.Fatalf("got %+v", st)
			}
		})
	}
}

func readTar(t *testing.T, rc io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
		if h.Linkname != "" {
			out[h.Name] = "-> " + h.Linkname
		}
	}
}

func TestArchive(t *testing.T) {
	outside := t.TempDir()
	r := tree(t, outside)
	tests := []struct {
		path string
		want map[string]string
	}{
		{"/d", map[string]string{"d/": "", "d/sub/": "", "d/sub/f": "f\n"}},
		{"/d/.", map[string]string{"./": "", "./sub/": "", "./sub/f": "f\n"}},
		{"/pw", map[string]string{"pw": "-> /etc/passwd"}},
		{"/out", map[string]string{"out": "-> " + outside}},
		{"/root/etc", map[string]string{"etc/": "", "etc/passwd": "root:x:0:0\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rc, _, err := Archive(context.Background(), r, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got := readTar(t, rc)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v", got)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s: got %q in %v", k, got[k], got)
				}
			}
		})
	}
}

func TestExtractStaysInside(t *testing.T) {
	outside := t.TempDir()
	r := tree(t, outside)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "esc", Linkname: "/", Typeflag: tar.TypeSymlink})
	body := "x"
	tw.WriteHeader(&tar.Header{Name: "esc" + outside + "/written", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	for _, dst := range []string{"/d", "/root/d", "/up/d"} {
		if err := Extract(context.Background(), r, dst, bytes.NewReader(buf.Bytes()), ExtractOptions{NoChown: true}); err != nil && !errdefs.IsInvalidParameter(err) && !errdefs.IsNotFound(err) {
			t.Fatalf("extract into %s: %v", dst, err)
		}
	}
	for _, dst := range []string{"/out", "/up" + outside} {
		if err := Extract(context.Background(), r, dst, bytes.NewReader(buf.Bytes()), ExtractOptions{NoChown: true}); !errdefs.IsNotFound(err) {
			t.Fatalf("extract into %s: want not found, got %v", dst, err)
		}
	}
	if err := Extract(context.Background(), r, "/etc/passwd", bytes.NewReader(buf.Bytes()), ExtractOptions{NoChown: true}); err == nil || !strings.Contains(err.Error(), "extraction point is not a directory") {
		t.Fatalf("extract into a file: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("something was written outside: %v", ents)
	}
}

func TestChanges(t *testing.T) {
	lower := tree(t, t.TempDir())
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir},
		{Name: "etc/hostname", Typeflag: tar.TypeReg},
		{Name: "etc/hosts", Typeflag: tar.TypeReg},
		{Name: "etc/passwd", Typeflag: tar.TypeReg},
		{Name: "d/", Typeflag: tar.TypeDir},
		{Name: "d/.wh.sub", Typeflag: tar.TypeReg},
		{Name: "new/", Typeflag: tar.TypeDir},
		{Name: "new/file", Typeflag: tar.TypeReg},
		{Name: "proc/", Typeflag: tar.TypeDir},
		{Name: "dev/", Typeflag: tar.TypeDir},
		{Name: "dev/console", Typeflag: tar.TypeReg},
		{Name: "data/", Typeflag: tar.TypeDir},
	} {
		tw.WriteHeader(&h)
	}
	tw.Close()
	got, err := Changes(&buf, lower, []string{"/data"})
	if err != nil {
		t.Fatal(err)
	}
	want := []apicontainer.FilesystemChange{
		{Path: "/d", Kind: apicontainer.ChangeModify},
		{Path: "/d/sub", Kind: apicontainer.ChangeDelete},
		{Path: "/etc", Kind: apicontainer.ChangeModify},
		{Path: "/etc/passwd", Kind: apicontainer.ChangeModify},
		{Path: "/new", Kind: apicontainer.ChangeAdd},
		{Path: "/new/file", Kind: apicontainer.ChangeAdd},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("change %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestAssembleIsPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	layer := t.TempDir()
	os.WriteFile(filepath.Join(layer, "in-layer"), []byte("l"), 0o644)
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "in-volume"), []byte("v"), 0o644)
	target := filepath.Join(t.TempDir(), "view")
	os.Mkdir(target, 0o755)
	v, err := Assemble(target, []storage.MountSpec{{Type: "bind", Source: layer, Options: []string{"rbind"}}},
		[]Bind{{Source: vol, Destination: "/data", ReadOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Fatalf("the host sees the view's mounts: %v", ents)
	}
	for _, p := range []string{"/in-layer", "/data/in-volume"} {
		if _, err := Stat(v.Root(), p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if err := Extract(context.Background(), v.Root(), "/data", bytes.NewReader(nil), ExtractOptions{}); err != nil {
		t.Logf("empty extract into a read-only bind: %v", err)
	}
	v.Close()
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("target left behind: %v", err)
	}
}

func TestExtractNoOverwriteDirNonDir(t *testing.T) {
	r := tree(t, t.TempDir())
	mk := func(h tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&h)
		tw.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"file over dir", mk(tar.Header{Name: "sub", Typeflag: tar.TypeReg, Mode: 0o644}), `cannot overwrite directory "/sub" with non-directory "/sub"`},
		{"dir over file", mk(tar.Header{Name: "sub/f/", Typeflag: tar.TypeDir, Mode: 0o755}), `cannot overwrite non-directory "/sub/f" with directory "/sub/f"`},
		{"new file", mk(tar.Header{Name: "g", Typeflag: tar.TypeReg, Mode: 0o644}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Extract(context.Background(), r, "/d", bytes.NewReader(tt.body), ExtractOptions{NoChown: true, NoOverwriteDirNonDir: true})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errdefs.IsInvalidParameter(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// Without the option the directory is replaced, as Docker does.
	if err := Extract(context.Background(), r, "/d", bytes.NewReader(tests[0].body), ExtractOptions{NoChown: true}); err != nil {
		t.Fatal(err)
	}
}
