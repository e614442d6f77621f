package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"berth/internal/atomicfile"
	"berth/internal/errdefs"
)

// DefaultDriver is the only driver berth has.
const DefaultDriver = "local"

// AnonymousLabel marks volumes created without a name, as Docker does; prune
// removes only these unless asked for all.
const AnonymousLabel = "com.docker.volume.anonymous"

const metaFile = "berth-volume.json"

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidateName applies Docker's rule for volume names.
func ValidateName(name string) error {
	if !validName.MatchString(name) {
		return errdefs.InvalidParameterf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name, name)
	}
	return nil
}

// Volume describes one volume.
type Volume struct {
	Name       string
	Driver     string
	Labels     map[string]string
	Options    map[string]string
	CreatedAt  time.Time
	Mountpoint string // the _data directory
}

// Anonymous reports whether the volume was created without a name.
func (v Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousLabel]
	return ok
}

type meta struct {
	Labels    map[string]string `json:"Labels,omitempty"`
	Options   map[string]string `json:"Options,omitempty"`
	CreatedAt time.Time         `json:"CreatedAt"`
}

// Store holds the volumes under one directory.
type Store struct {
	root string

	mountMu sync.Mutex // serialises device mounts; held across mount(2), unlike mu

	mu     sync.Mutex
	vols   map[string]*Volume
	refs   map[string]map[string]bool // volume name -> container IDs
	active map[string]map[string]bool // volume name -> IDs of containers it is mounted for
}

// New opens (creating if needed) the volumes directory root and loads the
// volumes in it. A directory without metadata (a crash between mkdir and
// the metadata write) is still a volume, with no labels.
func New(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o701); err != nil {
		return nil, fmt.Errorf("creating volumes directory: %w", err)
	}
	s := &Store{root: root, vols: map[string]*Volume{}, refs: map[string]map[string]bool{}, active: map[string]map[string]bool{}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || atomicfile.IsTemp(e.Name()) || ValidateName(e.Name()) != nil {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "_data")); err != nil {
			continue
		}
		v := &Volume{Name: e.Name(), Driver: DefaultDriver, Labels: map[string]string{}, Options: map[string]string{},
			Mountpoint: filepath.Join(dir, "_data")}
		if b, err := os.ReadFile(filepath.Join(dir, metaFile)); err == nil {
			var m meta
			if json.Unmarshal(b, &m) == nil {
				v.CreatedAt = m.CreatedAt
				if m.Labels != nil {
					v.Labels = m.Labels
				}
				if m.Options != nil {
					v.Options = m.Options
				}
			}
		}
		if v.CreatedAt.IsZero() {
			if fi, err := e.Info(); err == nil {
				v.CreatedAt = fi.ModTime().UTC()
			}
		}
		s.vols[v.Name] = v
	}
	return s, nil
}

// Root is the directory holding the volumes.
func (s *Store) Root() string { return s.root }

func copyVolume(v *Volume) Volume {
	out := *v
	out.Labels = cloneMap(v.Labels)
	out.Options = cloneMap(v.Options)
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// NewAnonymousName returns a fresh 64-hex volume name.
func NewAnonymousName() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateOptions are a volume's creation parameters.
type CreateOptions struct {
	Name       string // empty: a generated 64-hex name
	Anonymous  bool   // made for a container without a name: labelled so prune and rm -v take it
	Driver     string // empty or "local"
	DriverOpts map[string]string
	Labels     map[string]string
}

// Create makes a volume, or returns the existing one of that name (as
// Docker does: creating an existing volume is not an error). created
// reports whether it is new.
func (s *Store) Create(ctx context.Context, opts CreateOptions) (v Volume, created bool, err error) {
	if opts.Driver != "" && opts.Driver != DefaultDriver {
		return Volume{}, false, errdefs.NotFoundf("error looking up volume plugin %s: plugin %q not found", opts.Driver, opts.Driver)
	}
	if err := validateOpts(opts.Name, opts.DriverOpts); err != nil {
		return Volume{}, false, err
	}
	name := opts.Name
	labels := cloneMap(opts.Labels)
	if opts.Anonymous {
		labels[AnonymousLabel] = ""
	}
	if name == "" {
		name = NewAnonymousName()
	} else if err := ValidateName(name); err != nil {
		return Volume{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.vols[name]; ok {
		return copyVolume(existing), false, nil
	}
	dir := filepath.Join(s.root, name)
	data := filepath.Join(dir, "_data")
	// Creation is rare; holding the lock across it keeps two creates of
	// one name from racing on the directory.
	if err := os.MkdirAll(data, 0o755); err != nil {
		return Volume{}, false, errdefs.System(fmt.Errorf("create %s: %w", name, err))
	}
	now := time.Now().UTC()
	m := meta{Labels: labels, Options: cloneMap(opts.DriverOpts), CreatedAt: now}
	b, _ := json.Marshal(m)
	if err := atomicfile.Write(filepath.Join(dir, metaFile), b, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return Volume{}, false, errdefs.System(fmt.Errorf("create %s: %w", name, err))
	}
	nv := &Volume{Name: name, Driver: DefaultDriver, Labels: labels, Options: m.Options, CreatedAt: now, Mountpoint: data}
	s.vols[name] = nv
	return copyVolume(nv), true, nil
}

// Get returns a volume by name.
func (s *Store) Get(name string) (Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		return Volume{}, errdefs.NotFoundf("get %s: no such volume", name)
	}
	return copyVolume(v), nil
}

// List returns all volumes sorted by name.
func (s *Store) List() []Volume {
	s.mu.Lock()
	out := make([]Volume, 0, len(s.vols))
	for _, v := range s.vols {
		out = append(out, copyVolume(v))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Acquire records that container id uses the volume.
func (s *Store) Acquire(name, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vols[name]; !ok {
		return errdefs.NotFoundf("get %s: no such volume", name)
	}
	if s.refs[name] == nil {
		s.refs[name] = map[string]bool{}
	}
	s.refs[name][id] = true
	return nil
}

// Release drops container id's reference on the volume.
func (s *Store) Release(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refs[name], id)
	if len(s.refs[name]) == 0 {
		delete(s.refs, name)
	}
}

// Refs returns the sorted IDs of the containers using the volume.
func (s *Store) Refs(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.refs[name]))
	for id := range s.refs[name] {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Remove deletes a volume nobody uses. force makes a missing volume no
// error; it never removes a volume in use.
func (s *Store) Remove(ctx context.Context, name string, force bool) error {
	s.mu.Lock()
	v, ok := s.vols[name]
	if !ok {
		s.mu.Unlock()
		if force {
			return nil
		}
		return errdefs.NotFoundf("get %s: no such volume", name)
	}
	if refs := s.refs[name]; len(refs) > 0 {
		ids := make([]string, 0, len(refs))
		for id := range refs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		s.mu.Unlock()
		return errdefs.Conflictf("remove %s: volume is in use - %v", name, ids)
	}
	// Unlisted first, so no new reference can be taken while the
	// directory goes away.
	delete(s.vols, name)
	s.mu.Unlock()
	dir := filepath.Dir(v.Mountpoint)
	// A device left mounted (a crash) must come off before anything is
	// deleted, or the removal would recurse into the device's files.
	if err := unmountData(v.Mountpoint); err != nil {
		s.mu.Lock()
		s.vols[name] = v
		s.mu.Unlock()
		return fmt.Errorf("remove %s: %w", name, err)
	}
	// Rename first so a crash mid-delete leaves no half volume that New
	// would load.
	trash := filepath.Join(s.root, atomicfile.TempPrefix+"rm-"+name)
	if err := os.Rename(dir, trash); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		s.vols[name] = v
		s.mu.Unlock()
		return errdefs.System(fmt.Errorf("remove %s: %w", name, err))
	}
	if err := os.RemoveAll(trash); err != nil {
		return errdefs.System(fmt.Errorf("remove %s: %w", name, err))
	}
	return nil
}

// Size is the disk usage of a volume's data, in bytes.
func (s *Store) Size(name string) int64 {
	v, err := s.Get(name)
	if err != nil {
		return 0
	}
	var n int64
	_ = filepath.WalkDir(v.Mountpoint, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
