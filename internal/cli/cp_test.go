package cli

import (
	"archive/tar"
	"testing"
)

func TestSplitCpArg(t *testing.T) {
	tests := []struct{ arg, ctr, path string }{
		{"box:/etc", "box", "/etc"},
		{"/abs:colon", "", "/abs:colon"},
		{"./rel:colon", "", "./rel:colon"},
		{"file", "", "file"},
		{"box:", "box", ""},
	}
	for _, tt := range tests {
		if c, p := splitCpArg(tt.arg); c != tt.ctr || p != tt.path {
			t.Errorf("splitCpArg(%q) = %q, %q", tt.arg, c, p)
		}
	}
}

func TestSplitDirEntry(t *testing.T) {
	tests := []struct{ p, dir, base string }{
		{"/a/b", "/a", "b"},
		{"/a/b/", "/a", "b"},
		{"/a/b/.", "/a/b", "."},
		{"/", "/", "/"},
	}
	for _, tt := range tests {
		if d, b := splitDirEntry(tt.p); d != tt.dir || b != tt.base {
			t.Errorf("splitDirEntry(%q) = %q, %q", tt.p, d, b)
		}
	}
}

func TestPrepareCopy(t *testing.T) {
	file := copyInfo{path: "/src/f", exists: true, base: "f"}
	dir := copyInfo{path: "/src/d", exists: true, isDir: true, base: "d"}
	tests := []struct {
		name          string
		src, dst      copyInfo
		dir, from, to string
		err           string
	}{
		{"file into dir", file, copyInfo{path: "/tmp", exists: true, isDir: true}, "/tmp", "", "", ""},
		{"file over file", file, copyInfo{path: "/tmp/x", exists: true}, "/tmp", "f", "x", ""},
		{"file to new name", file, copyInfo{path: "/tmp/new"}, "/tmp", "f", "new", ""},
		{"file to new dir", file, copyInfo{path: "/tmp/new/"}, "", "", "", "no such directory"},
		{"dir over file", dir, copyInfo{path: "/tmp/x", exists: true}, "", "", "", "cannot copy directory"},
		{"dir to new name", dir, copyInfo{path: "/tmp/new"}, "/tmp", "d", "new", ""},
		{"dir into dir", dir, copyInfo{path: "/tmp", exists: true, isDir: true}, "/tmp", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, from, to, err := prepareCopy(tt.src, tt.dst)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || d != tt.dir || from != tt.from || to != tt.to {
				t.Fatalf("got %q %q %q %v", d, from, to, err)
			}
		})
	}
}

func TestRebaseAndBreakout(t *testing.T) {
	h := &tar.Header{Name: "d/sub/f", Typeflag: tar.TypeReg}
	rebaseHeader(h, "d", "new")
	if h.Name != "new/sub/f" {
		t.Fatalf("rebased to %q", h.Name)
	}
	h = &tar.Header{Name: "dd/f", Typeflag: tar.TypeReg}
	rebaseHeader(h, "d", "new")
	if h.Name != "dd/f" {
		t.Fatalf("a sibling with the prefix was renamed: %q", h.Name)
	}
	for _, tt := range []struct {
		name, link string
		bad        bool
	}{
		{"a/l", "../b", false},
		{"a/l", "../../x", true},
		{"l", "..", true},
		{"l", "/etc", false},
	} {
		err := checkBreakout(&tar.Header{Name: tt.name, Linkname: tt.link, Typeflag: tar.TypeSymlink}, "/dst")
		if (err != nil) != tt.bad {
			t.Errorf("%s -> %s: %v", tt.name, tt.link, err)
		}
	}
}
