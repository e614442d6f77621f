package container

import (
	"sync"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
)

// Container is the persisted record. Config and HostConfig are treated as
// immutable once set: an update replaces the pointer, so snapshots may share
// them.
type Container struct {
	mu sync.Mutex

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

// Snapshot is an immutable copy of a record for list and inspect: readers
// never take the container's lock, so one stuck container cannot hang ps.
type Snapshot struct {
	ID             string
	Name           string
	Created        time.Time
	Path           string
	Args           []string
	Config         *apicontainer.Config
	HostConfig     *apicontainer.HostConfig
	ImageID        digest.Digest
	Driver         string
	State          State
	RestartCount   int
	LogPath        string
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
}

func (c *Container) snapshot() *Snapshot {
	return &Snapshot{
		ID: c.ID, Name: c.Name, Created: c.Created, Path: c.Path,
		Args: append([]string(nil), c.Args...), Config: c.Config, HostConfig: c.HostConfig,
		ImageID: c.ImageID, Driver: c.Driver, State: c.State, RestartCount: c.RestartCount,
		LogPath: c.LogPath, HostnamePath: c.HostnamePath, HostsPath: c.HostsPath,
		ResolvConfPath: c.ResolvConfPath,
	}
}
