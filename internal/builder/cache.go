package builder

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"

	"berth/internal/atomicfile"
	"berth/internal/errdefs"
)

// cache maps step keys to the images those steps produced. It is one
// small JSON file, rewritten atomically on every new entry, so it survives
// restarts; an entry whose image is gone is simply a miss.
type cache struct {
	path string

	mu      sync.Mutex
	entries map[string]digest.Digest
}

func openCache(p string) (*cache, error) {
	c := &cache{path: p, entries: map[string]digest.Digest{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, errdefs.System(err)
	}
	if err := json.Unmarshal(b, &c.entries); err != nil {
		// A cache is never worth failing the daemon for: start empty.
		c.entries = map[string]digest.Digest{}
	}
	return c, nil
}

func (c *cache) get(key string) (digest.Digest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.entries[key]
	return id, ok
}

func (c *cache) put(key string, id digest.Digest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[key] == id {
		return nil
	}
	c.entries[key] = id
	return c.saveLocked()
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// clear forgets every entry and returns the images they named.
func (c *cache) clear() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[digest.Digest]bool{}
	var ids []string
	for _, id := range c.entries {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id.String())
		}
	}
	c.entries = map[string]digest.Digest{}
	return ids, c.saveLocked()
}

func (c *cache) saveLocked() error {
	b, err := json.Marshal(c.entries)
	if err != nil {
		return errdefs.System(err)
	}
	if err := atomicfile.Write(c.path, b, 0o600); err != nil {
		return errdefs.System(err)
	}
	return nil
}
