package builder

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"berth/internal/backend"
	"berth/internal/errdefs"
	"berth/internal/safepath"
)

func TestPlanBuild(t *testing.T) {
	multi := "ARG V=1\nFROM busybox AS a\nRUN true\nFROM busybox AS b\nRUN true\nRUN true\nFROM a AS c\nCOPY --from=b /x /x\nFROM scratch AS d\nCOPY --from=0 /y /y\n"
	tests := []struct {
		name, dockerfile, target string
		order                    []int
		total                    int
		err                      string
	}{
		{name: "last stage needs stage 0 only", dockerfile: multi, order: []int{0, 3}, total: 1 + 2 + 2},
		{name: "target c needs a and b", dockerfile: multi, target: "c", order: []int{0, 1, 2}, total: 1 + 2 + 3 + 2},
		{name: "target is case-insensitive", dockerfile: multi, target: "B", order: []int{1}, total: 1 + 3},
		{name: "unknown target", dockerfile: multi, target: "nope", err: "failed to reach build target nope in Dockerfile"},
		{name: "unknown instruction", dockerfile: "FROM busybox\n\nFROB x\n", err: "dockerfile parse error on line 3: unknown instruction: FROB"},
		{name: "no stages", dockerfile: "# nothing\n", err: "file with no instructions"},
		{name: "instruction before FROM", dockerfile: "RUN true\nFROM busybox\n", err: "no build stage in current context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planBuild([]byte(tt.dockerfile), backend.BuildOptions{Target: tt.target})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errdefs.IsInvalidParameter(err) {
					t.Fatalf("err %v, want %q (invalid parameter)", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(p.order) != fmt.Sprint(tt.order) || p.total != tt.total {
				t.Fatalf("order %v total %d, want %v %d", p.order, p.total, tt.order, tt.total)
			}
		})
	}
}

func TestPlanMetaArgsAndLabels(t *testing.T) {
	v := "2"
	p, err := planBuild([]byte("ARG BASE=busybox\nARG V=1\nFROM ${BASE}\n"), backend.BuildOptions{
		BuildArgs: map[string]*string{"V": &v}, Labels: map[string]string{"b": "2", "a": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.metaEnv["BASE"] != "busybox" || p.metaEnv["V"] != "2" {
		t.Fatalf("meta args %v", p.metaEnv)
	}
	cmds := p.stages[0].Commands
	if len(cmds) != 1 || commandText(cmds[0]) != `LABEL "a"='1' "b"='2'` || p.total != 4 {
		t.Fatalf("label step %v, total %d", cmds, p.total)
	}
}

func TestApplyIgnore(t *testing.T) {
	dir := t.TempDir()
	files := []string{"Dockerfile", "keep.txt", "secret.txt", "logs/a.log", "docs/x.md", "docs/README.md", "nested/deep/tmp.o"}
	for _, f := range files {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("secret.txt\nlogs\ndocs/*.md\n!docs/README.md\n**/*.o\n"), 0o644)
	root, err := safepath.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	bc := &buildContext{dir: dir, root: root}
	if err := bc.applyIgnore("Dockerfile"); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, rel)
		}
		return nil
	})
	sort.Strings(got)
	want := ".dockerignore Dockerfile docs/README.md keep.txt"
	if strings.Join(got, " ") != want {
		t.Fatalf("left %v, want %s", got, want)
	}
}

func TestChecksumSources(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	sum := func() string {
		s, _, err := checksumSources([]source{{host: p, name: "f"}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	os.WriteFile(p, []byte("aaaa"), 0o644)
	first := sum()
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	if sum() != first {
		t.Fatal("an mtime change altered the checksum")
	}
	os.WriteFile(p, []byte("bbbb"), 0o644)
	if sum() == first {
		t.Fatal("new content of the same size kept the checksum")
	}
	os.WriteFile(p, []byte("aaaa"), 0o755)
	os.Chmod(p, 0o755)
	if sum() == first {
		t.Fatal("a mode change kept the checksum")
	}
}

func TestHasWildcardAndFamiliarTag(t *testing.T) {
	for in, want := range map[string]bool{"a/*.txt": true, "f?": true, "[ab]": true, "plain/file": false} {
		if hasWildcard(in) != want {
			t.Errorf("hasWildcard(%q) != %v", in, want)
		}
	}
	for in, want := range map[string]string{"app": "app:latest", "app:1": "app:1", "reg.io/x/app": "reg.io/x/app:latest"} {
		if got := familiarTag(in); got != want {
			t.Errorf("familiarTag(%q) = %q, want %q", in, got, want)
		}
	}
}
