package container

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, bad, err := NewStore(t.TempDir())
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	return s
}

func add(t *testing.T, s *Store, name string) *Container {
	t.Helper()
	c := &Container{Record: Record{ID: NewID(), Name: name, Created: time.Now(), Config: &apicontainer.Config{Image: "busybox"},
		HostConfig: &apicontainer.HostConfig{}, State: State{Status: StatusCreated}}}
	if err := s.Add(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookup(t *testing.T) {
	s := newTestStore(t)
	a := add(t, s, "/web")
	tests := []struct {
		name, ref string
		class     errdefs.Class
	}{
		{"full id", a.ID, 0},
		{"name", "web", 0},
		{"slash name", "/web", 0},
		{"prefix", a.ID[:5], 0},
		{"unknown", "nope", errdefs.ClassNotFound},
		{"empty", "", errdefs.ClassNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := s.Lookup(tt.ref)
			if tt.class != 0 {
				if errdefs.ClassOf(err) != tt.class {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || snap.ID != a.ID {
				t.Fatalf("got %v, %v", snap, err)
			}
		})
	}
}

func TestNameConflictAndRename(t *testing.T) {
	s := newTestStore(t)
	a := add(t, s, "/web")
	b := &Container{Record: Record{ID: NewID(), Name: "/web", State: State{Status: StatusCreated}}}
	err := s.Add(b)
	if !errdefs.IsConflict(err) {
		t.Fatalf("want conflict, got %v", err)
	}
	want := `Conflict. The container name "/web" is already in use by container "` + a.ID + `". You have to remove (or rename) that container to be able to reuse that name.`
	if err.Error() != want {
		t.Fatalf("wording: %s", err)
	}
	if err := s.Rename(a.ID, "/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("web"); !errdefs.IsNotFound(err) {
		t.Fatalf("old name still resolves: %v", err)
	}
	if snap, err := s.Lookup("db"); err != nil || snap.ID != a.ID {
		t.Fatal(err)
	}
}

func TestPersistenceAndReload(t *testing.T) {
	root := t.TempDir()
	s, _, _ := NewStore(root)
	c := &Container{Record: Record{ID: NewID(), Name: "/p", Config: &apicontainer.Config{Image: "x"}, State: State{Status: StatusCreated}}}
	if err := s.Add(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(c.ID, func(c *Container) error { return c.State.SetRunning(42, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	// A half-written temp file and a garbage record must not stop a reload.
	os.WriteFile(filepath.Join(root, c.ID, ".config.v2.json.tmp-1"), []byte("{"), 0o600)
	os.MkdirAll(filepath.Join(root, "garbage"), 0o700)
	os.WriteFile(filepath.Join(root, "garbage", recordFile), []byte("{not json"), 0o600)
	s2, bad, err := NewStore(root)
	if err != nil || len(bad) != 1 {
		t.Fatalf("reload: %v %v", err, bad)
	}
	snap, err := s2.Lookup("p")
	if err != nil || snap.State.Pid != 42 || snap.State.Status != StatusRunning {
		t.Fatalf("reloaded %+v %v", snap, err)
	}
}

func TestIllegalTransitionLeavesRecord(t *testing.T) {
	s := newTestStore(t)
	c := add(t, s, "/x")
	_, err := s.Update(c.ID, func(c *Container) error { return c.State.SetExited(1, false, time.Now()) })
	if !errdefs.IsConflict(err) {
		t.Fatalf("created->exited must be refused, got %v", err)
	}
	snap, _ := s.Lookup("x")
	if snap.State.Status != StatusCreated {
		t.Fatal("state changed")
	}
}

func TestValidateName(t *testing.T) {
	for in, ok := range map[string]bool{"web": true, "/web": true, "a": false, "-x": false, "we b": false, "x_1.y-z": true} {
		if _, err := ValidateName(in); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
