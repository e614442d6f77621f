package container

import (
	"sync"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
)

// Record is a container's persisted data. Config and HostConfig are treated
// as immutable once set: an update replaces the pointer, so snapshots may
// share them.
type Record struct {
	ID         string
	Name       string // with the leading "/" as the API reports it
	Created    time.Time
	Path       string
	Args       []string
	Config     *apicontainer.Config
	HostConfig *apicontainer.HostConfig
	ImageID    digest.Digest
	Driver     string
	State      State

	RestartCount   int
	LogPath        string
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
}

// Container is the live record, mutated only under its lock through
// Store.Update.
type Container struct {
	mu sync.Mutex
	Record
}

// Snapshot is an immutable copy of a record for list and inspect: readers
// never take the container's lock, so one stuck container cannot hang ps.
type Snapshot Record

func (c *Container) snapshot() *Snapshot {
	s := Snapshot(c.Record)
	s.Args = append([]string(nil), c.Args...)
	return &s
}
