package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAndReplace(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(string, []byte, os.FileMode) error
	}{{"durable", Write}, {"replace", Replace}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			for _, content := range []string{"one", "two, longer"} {
				if err := tt.fn(p, []byte(content), 0o640); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(p)
				if err != nil || string(got) != content {
					t.Fatalf("read %q %v", got, err)
				}
			}
			st, _ := os.Stat(p)
			if st.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v", st.Mode())
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Fatalf("temp files left: %v", ents)
			}
		})
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "f"), nil, 0o600); err == nil {
		t.Fatal("write into a missing dir succeeded")
	}
	if !IsTemp(TempPrefix+"x-123") || IsTemp("x") {
		t.Fatal("IsTemp")
	}
}
