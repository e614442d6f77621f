package overlay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"berth/internal/storage"
	"berth/internal/storage/storagetest"
)

func newDriver(t *testing.T) storage.Driver {
	d, err := New(context.Background(), filepath.Join(t.TempDir(), "overlay2"))
	if err != nil {
		t.Skipf("overlay unavailable: %v", err)
	}
	return d
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, newDriver)
}

// A chain deeper than one page of lowerdir options still mounts.
func TestDeepChain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
	d := newDriver(t)
	ctx := context.Background()
	parent := ""
	const depth = 120
	for i := 0; i < depth; i++ {
		id := fmt.Sprintf("layer%03d", i)
		if err := d.Create(ctx, id, parent); err != nil {
			t.Fatal(err)
		}
		tr := storagetest.Tar(t, storagetest.File{Name: fmt.Sprintf("f%03d", i), Body: "x"})
		if _, err := d.ApplyDiff(ctx, id, bytes.NewReader(tr)); err != nil {
			t.Fatal(err)
		}
		parent = id
	}
	if err := d.CreateRW(ctx, "ctr", parent); err != nil {
		t.Fatal(err)
	}
	specs, _ := d.Mounts(ctx, "ctr")
	if n := len(specs[0].Options[1]); n < os.Getpagesize() {
		t.Fatalf("lowerdir is only %d bytes; the test wants more than a page", n)
	}
	target := d.MountPoint("ctr")
	if err := storage.Mount(specs, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storage.Unmount(target) })
	ents, _ := os.ReadDir(target)
	if len(ents) != depth {
		t.Fatalf("%d entries, want %d", len(ents), depth)
	}
}
