package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/errdefs"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"golang.org/x/sys/unix"
)

type ent struct {
	name, link string
	typ        byte
	body       string
	mode       int64
	uid, gid   int
	major      int64
	xattrs     map[string]string
}

func mkTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	b, err := mkTarE(ents...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mkTarE(ents ...ent) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mt, Devmajor: e.major, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords[paxXattrPrefix+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes(), nil
}

func requireRoot(t testing.TB) {
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
}

// sandbox returns root and an "outside" directory next to it holding one
// file; check reports whether outside is still exactly that.
func sandbox(t testing.TB) (root, outside string, check func()) {
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	os.Mkdir(root, 0o755)
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	return root, outside, func() {
		t.Helper()
		ents, _ := os.ReadDir(outside)
		b, _ := os.ReadFile(filepath.Join(outside, "secret"))
		if len(ents) != 1 || string(b) != "s" {
			t.Fatalf("something was written outside the root: %v %q", ents, b)
		}
		if ents, _ := os.ReadDir(filepath.Dir(outside)); len(ents) != 2 {
			t.Fatalf("something was written next to the root: %v", ents)
		}
	}
}

func TestApplyMalicious(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		ents    func(outside string) []ent
		invalid bool // refused as InvalidParameter
	}{
		{"dotdot", func(string) []ent { return []ent{{name: "../outside/secret", body: "x"}} }, true},
		{"dotdot deep", func(string) []ent { return []ent{{name: "a/b/../../../outside/pwn", body: "x"}} }, true},
		{"absolute", func(o string) []ent { return []ent{{name: filepath.Join(o, "pwn"), body: "x"}} }, false},
		{"symlink parent to /", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: "/"}, {name: "l" + o + "/pwn", body: "x"}}
		}, false},
		{"symlink parent abs outside", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: o}, {name: "l/pwn", body: "x"}}
		}, false},
		{"symlink parent relative outside", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: "../outside"}, {name: "l/pwn", body: "x"}}
		}, false},
		{"symlink chain", func(o string) []ent {
			return []ent{
				{name: "a", typ: tar.TypeSymlink, link: "b"},
				{name: "b", typ: tar.TypeSymlink, link: "../../.."},
				{name: "a" + o + "/pwn", body: "x"},
			}
		}, false},
		{"symlink then file over it", func(o string) []ent {
			return []ent{{name: "s", typ: tar.TypeSymlink, link: o + "/secret"}, {name: "s", body: "x"}}
		}, false},
		{"hardlink dotdot", func(string) []ent {
			return []ent{{name: "h", typ: tar.TypeLink, link: "../outside/secret"}}
		}, true},
		{"hardlink absolute", func(o string) []ent {
			return []ent{{name: "h", typ: tar.TypeLink, link: o + "/secret"}}
		}, false},
		{"hardlink through symlink", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: o}, {name: "h", typ: tar.TypeLink, link: "l/secret"}}
		}, false},
		{"whiteout escape", func(string) []ent { return []ent{{name: "../outside/.wh.secret"}} }, true},
		{"whiteout through symlink", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: o}, {name: "l/.wh.secret"}}
		}, false},
		{"opaque through symlink", func(o string) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: o}, {name: "l/.wh..wh..opq"}}
		}, false},
	}
	for _, format := range []WhiteoutFormat{WhiteoutDirect, WhiteoutOverlay} {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root, outside, check := sandbox(t)
				_, err := Apply(context.Background(), root, bytes.NewReader(mkTar(t, tt.ents(outside)...)), ApplyOptions{Whiteouts: format})
				if tt.invalid && !errdefs.IsInvalidParameter(err) {
					t.Fatalf("want InvalidParameter, got %v", err)
				}
				check()
			})
		}
	}
}

func TestApplyMetadataAndCompression(t *testing.T) {
	requireRoot(t)
	ents := []ent{
		{name: "bin/", typ: tar.TypeDir, mode: 0o750, uid: 5, gid: 6},
		{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755, uid: 7, gid: 8, xattrs: map[string]string{"user.k": "v", "trusted.overlay.redirect": "/x"}},
		{name: "bin/sh", typ: tar.TypeSymlink, link: "tool"},
		{name: "bin/hl", typ: tar.TypeLink, link: "bin/tool"},
		{name: "dev/null", typ: tar.TypeChar, major: 1, mode: 0o666},
		{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		{name: "/abs/file", body: "abs"},
	}
	raw := mkTar(t, ents...)
	var gz, zs bytes.Buffer
	gw := pgzip.NewWriter(&gz)
	gw.Write(raw)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(raw)
	zw.Close()
	for name, data := range map[string][]byte{"plain": raw, "gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			size, err := Apply(context.Background(), root, bytes.NewReader(data), ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if size != int64(len("#!/bin/sh\n")+len("abs")) {
				t.Errorf("size = %d", size)
			}
			var st unix.Stat_t
			unix.Lstat(filepath.Join(root, "bin"), &st)
			if st.Mode&0o7777 != 0o750 || st.Uid != 5 || st.Gid != 6 || st.Mtim.Sec != 1700000000 {
				t.Errorf("bin: mode %o uid %d gid %d mtime %d", st.Mode&0o7777, st.Uid, st.Gid, st.Mtim.Sec)
			}
			unix.Lstat(filepath.Join(root, "bin/tool"), &st)
			if st.Mode&0o7777 != 0o4755 || st.Uid != 7 || st.Nlink != 2 {
				t.Errorf("tool: mode %o uid %d nlink %d", st.Mode&0o7777, st.Uid, st.Nlink)
			}
			if v, err := lgetxattr(filepath.Join(root, "bin/tool"), "user.k"); err != nil || string(v) != "v" {
				t.Errorf("xattr user.k = %q, %v", v, err)
			}
			if _, err := lgetxattr(filepath.Join(root, "bin/tool"), "trusted.overlay.redirect"); err == nil {
				t.Error("trusted.overlay xattr from the tar was applied")
			}
			if l, _ := os.Readlink(filepath.Join(root, "bin/sh")); l != "tool" {
				t.Errorf("symlink = %q", l)
			}
			unix.Lstat(filepath.Join(root, "dev/null"), &st)
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 0) || st.Mode&0o777 != 0o666 {
				t.Errorf("dev/null: mode %o rdev %d", st.Mode, st.Rdev)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "abs/file")); string(b) != "abs" {
				t.Errorf("abs/file = %q", b)
			}
		})
	}
}

func TestApplyWhiteouts(t *testing.T) {
	requireRoot(t)
	lower := []ent{
		{name: "keep", body: "k"},
		{name: "gone", body: "g"},
		{name: "d/", typ: tar.TypeDir, mode: 0o755},
		{name: "d/old", body: "o"},
		{name: "d/sub/x", body: "x"},
	}
	upper := []ent{
		{name: ".wh.gone"},
		{name: "d/new", body: "n"},
		{name: "d/.wh..wh..opq"},
	}
	t.Run("direct", func(t *testing.T) {
		root := t.TempDir()
		for _, l := range [][]ent{lower, upper} {
			if _, err := Apply(context.Background(), root, bytes.NewReader(mkTar(t, l...)), ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		got := listTree(t, root)
		want := "d/ d/new keep"
		if got != want {
			t.Fatalf("tree = %q, want %q", got, want)
		}
	})
	t.Run("overlay", func(t *testing.T) {
		root := t.TempDir()
		if _, err := Apply(context.Background(), root, bytes.NewReader(mkTar(t, upper...)), ApplyOptions{Whiteouts: WhiteoutOverlay}); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Fatalf("whiteout device missing: %v", err)
		}
		if v, err := lgetxattr(filepath.Join(root, "d"), opaqueXattr); err != nil || string(v) != "y" {
			t.Fatalf("opaque xattr = %q, %v", v, err)
		}
		// And back: the tar of an overlay diff carries OCI whiteouts.
		b, err := io.ReadAll(Tar(context.Background(), root, TarOptions{Whiteouts: WhiteoutOverlay}))
		if err != nil {
			t.Fatal(err)
		}
		names := tarNames(t, b)
		for _, want := range []string{".wh.gone", "d/.wh..wh..opq", "d/new"} {
			if !names[want] {
				t.Errorf("tar lacks %s: %v", want, names)
			}
		}
	})
}

func TestTarRoundTrip(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	if _, err := Apply(context.Background(), src, bytes.NewReader(mkTar(t,
		ent{name: "a/b", body: "hello", mode: 0o600, uid: 3},
		ent{name: "a/l", typ: tar.TypeSymlink, link: "b"},
		ent{name: "a/h", typ: tar.TypeLink, link: "a/b"},
	)), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := Apply(context.Background(), dst, Tar(context.Background(), src, TarOptions{}), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if a, b := listTree(t, src), listTree(t, dst); a != b {
		t.Fatalf("round trip: %q != %q", a, b)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(dst, "a/b"), &st)
	if st.Nlink != 2 || st.Uid != 3 || st.Mode&0o777 != 0o600 {
		t.Fatalf("a/b: nlink %d uid %d mode %o", st.Nlink, st.Uid, st.Mode&0o777)
	}
}

func listTree(t *testing.T, root string) string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if p == root || err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	s := ""
	for i, o := range out {
		if i > 0 {
			s += " "
		}
		s += o
	}
	return s
}

func tarNames(t *testing.T, b []byte) map[string]bool {
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
}

func FuzzApply(f *testing.F) {
	if os.Geteuid() != 0 {
		f.Skip("requires root")
	}
	f.Add("l", "/", "l/../x", "../x", byte(tar.TypeSymlink))
	f.Add("a", "../../..", "a/b/c", "a", byte(tar.TypeLink))
	f.Add("/x", "..", "x/.wh.y", "x", byte(tar.TypeSymlink))
	f.Fuzz(func(t *testing.T, n1, l1, n2, l2 string, typ byte) {
		if strings.ContainsRune(n1+l1+n2+l2, 0) {
			return
		}
		root, _, check := sandbox(t)
		if typ != tar.TypeLink {
			typ = tar.TypeSymlink
		}
		data, err := mkTarE(
			ent{name: n1, typ: tar.TypeSymlink, link: l1},
			ent{name: n2, body: "pwn"},
			ent{name: n2 + "2", typ: typ, link: l2},
			ent{name: n1 + "/f", body: "pwn"},
		)
		if err != nil {
			return
		}
		Apply(context.Background(), root, bytes.NewReader(data), ApplyOptions{Whiteouts: WhiteoutFormat(typ & 1)})
		check()
	})
}
