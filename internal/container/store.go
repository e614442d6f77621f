package container

import (
	"berth/internal/atomicfile"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"berth/internal/errdefs"
)

const recordFile = "config.v2.json"

// validName is Docker's container name rule.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Store indexes containers by ID and name and persists their records.
type Store struct {
	root string

	mu     sync.Mutex
	byID   map[string]*entry
	byName map[string]string // "/name" -> id
}

type entry struct {
	c    *Container
	snap atomic.Pointer[Snapshot]
}

// NewStore loads every record under root (<data-root>/containers). A record
// that does not parse is skipped and reported, never fatal: one bad file
// must not take the daemon down.
func NewStore(root string) (*Store, []error, error) {
	if err := os.MkdirAll(root, 0o710); err != nil {
		return nil, nil, err
	}
	s := &Store{root: root, byID: map[string]*entry{}, byName: map[string]string{}}
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	var bad []error
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, d.Name(), recordFile))
		if err != nil {
			if !os.IsNotExist(err) {
				bad = append(bad, err)
			}
			continue
		}
		c := &Container{}
		if err := json.Unmarshal(data, c); err != nil || c.ID != d.Name() {
			bad = append(bad, fmt.Errorf("container record %s: unreadable: %v", d.Name(), err))
			continue
		}
		e := &entry{c: c}
		e.snap.Store(c.snapshot())
		s.byID[c.ID] = e
		s.byName[c.Name] = c.ID
	}
	return s, bad, nil
}

// Dir is the container's own directory for its record, log and etc files.
func (s *Store) Dir(id string) string { return filepath.Join(s.root, id) }

// ValidateName checks a user-given name and returns it with the leading "/".
func ValidateName(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", errdefs.InvalidParameterf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", strings.TrimPrefix(name, "/"))
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return name, nil
}

func nameConflict(name, id string) error {
	return errdefs.Conflictf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", name, id)
}

// Add reserves the name and persists a new record.
func (s *Store) Add(c *Container) error {
	s.mu.Lock()
	if other, ok := s.byName[c.Name]; ok {
		s.mu.Unlock()
		return nameConflict(c.Name, other)
	}
	s.byName[c.Name] = c.ID
	e := &entry{c: c}
	e.snap.Store(c.snapshot())
	s.byID[c.ID] = e
	s.mu.Unlock()
	if err := os.MkdirAll(s.Dir(c.ID), 0o710); err != nil {
		s.forget(c.ID, c.Name)
		return errdefs.System(err)
	}
	if err := s.write(c); err != nil {
		s.forget(c.ID, c.Name)
		_ = os.RemoveAll(s.Dir(c.ID))
		return err
	}
	return nil
}

func (s *Store) forget(id, name string) {
	s.mu.Lock()
	delete(s.byID, id)
	if s.byName[name] == id {
		delete(s.byName, name)
	}
	s.mu.Unlock()
}

// Delete drops the record and its directory.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	e, ok := s.byID[id]
	if ok {
		delete(s.byID, id)
		if s.byName[e.c.Name] == id {
			delete(s.byName, e.c.Name)
		}
	}
	s.mu.Unlock()
	if !ok {
		return errdefs.NotFoundf("No such container: %s", id)
	}
	return os.RemoveAll(s.Dir(id))
}

// Lookup resolves a full ID, a name (with or without "/"), or a unique ID
// prefix, like Docker.
func (s *Store) Lookup(ref string) (*Snapshot, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	return e.snap.Load(), nil
}

func (s *Store) lookup(ref string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref == "" {
		return nil, errdefs.NotFoundf("No such container: %s", ref)
	}
	if e, ok := s.byID[ref]; ok {
		return e, nil
	}
	name := ref
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if id, ok := s.byName[name]; ok {
		return s.byID[id], nil
	}
	var found *entry
	for id, e := range s.byID {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errdefs.InvalidParameterf("multiple IDs found with provided prefix: %s", ref)
			}
			found = e
		}
	}
	if found == nil {
		return nil, errdefs.NotFoundf("No such container: %s", ref)
	}
	return found, nil
}

// Update runs fn on the record under its lock, persists the result and
// publishes a new snapshot. If fn fails nothing is written; if the write
// fails the in-memory record is rolled back so memory never runs ahead of
// disk.
func (s *Store) Update(id string, fn func(c *Container) error) (*Snapshot, error) {
	e, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	before := *c.snapshot()
	if err := fn(c); err != nil {
		restore(c, &before)
		return nil, err
	}
	if err := s.write(c); err != nil {
		restore(c, &before)
		return nil, err
	}
	snap := c.snapshot()
	e.snap.Store(snap)
	return snap, nil
}

func restore(c *Container, s *Snapshot) { c.Record = Record(*s) }

// Rename moves a container to a new name atomically with respect to other
// renames and creates.
func (s *Store) Rename(id, newName string) error {
	e, err := s.lookup(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if other, ok := s.byName[newName]; ok {
		s.mu.Unlock()
		if other == e.c.ID {
			return errdefs.InvalidParameterf("Renaming a container with the same name as its current name")
		}
		return nameConflict(newName, other)
	}
	s.byName[newName] = e.c.ID
	s.mu.Unlock()
	var oldName string
	_, err = s.Update(e.c.ID, func(c *Container) error {
		oldName = c.Name
		c.Name = newName
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.byName, newName)
		return err
	}
	delete(s.byName, oldName)
	return nil
}

// List returns snapshots of every container.
func (s *Store) List() []*Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Snapshot, 0, len(s.byID))
	for _, e := range s.byID {
		out = append(out, e.snap.Load())
	}
	return out
}

// NameTaken reports the ID holding a name, if any.
func (s *Store) NameTaken(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byName[name]
	return id, ok
}

func (s *Store) write(c *Container) error {
	data, err := json.Marshal(c)
	if err != nil {
		return errdefs.System(err)
	}
	if err := atomicfile.Write(filepath.Join(s.Dir(c.ID), recordFile), data, 0o600); err != nil {
		return errdefs.System(err)
	}
	return nil
}
