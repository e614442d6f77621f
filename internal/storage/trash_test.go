package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveDirIsImmediateAndPurges(t *testing.T) {
	home := t.TempDir()
	layer := filepath.Join(home, "abc")
	if err := os.MkdirAll(filepath.Join(layer, "diff", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(layer, "diff", "deep", "f"), []byte("x"), 0o644)
	if err := RemoveDir(home, layer); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(layer); !os.IsNotExist(err) {
		t.Fatalf("layer still visible: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(home, trashDir))
		if len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trash not emptied: %v", ents)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := RemoveDir(home, filepath.Join(home, "missing")); err != nil {
		t.Fatalf("removing a missing layer: %v", err)
	}
	// What a dead process left behind goes at the next open.
	os.MkdirAll(filepath.Join(home, trashDir, "left-1", "x"), 0o755)
	PurgeTrash(home)
	if _, err := os.Stat(filepath.Join(home, trashDir)); !os.IsNotExist(err) {
		t.Fatalf("trash survived purge: %v", err)
	}
}
