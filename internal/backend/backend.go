package backend

import (
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
)

// Filters is the API's filter map: key -> set of values.
type Filters map[string]map[string]bool

// ContainerListOptions mirrors GET /containers/json.
type ContainerListOptions struct {
	All     bool
	Limit   int
	Size    bool
	Filters Filters
}

// CreateResult is what a container create returns.
type CreateResult struct {
	ID       string
	Warnings []string
}

// StopOptions mirrors POST /containers/{id}/stop and /restart.
type StopOptions struct {
	Signal  string
	Timeout *int // seconds; nil = the container's StopTimeout or 10; -1 = forever
}

// RemoveOptions mirrors DELETE /containers/{id}.
type RemoveOptions struct {
	Force         bool
	RemoveVolumes bool
	RemoveLink    bool
}

// LogsOptions mirrors GET /containers/{id}/logs.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool
	Since, Until   time.Time
	Tail           int // -1 = all
}

// AttachOptions mirrors POST /containers/{id}/attach.
type AttachOptions struct {
	Stdout, Stderr bool
	Stream         bool
	Logs           bool
}

// Emit receives one line of container output; an error stops the stream.
type Emit func(stream string, line []byte, t time.Time) error

// ImportOptions mirrors POST /images/create?fromSrc=-.
type ImportOptions struct {
	Repo, Tag string
	Message   string
	Changes   []string
	Platform  string
}

// ExtractOptions mirrors PUT /containers/{id}/archive.
type ExtractOptions struct {
	NoOverwriteDirNonDir bool
	CopyUIDGID           bool
}

// CommitOptions mirrors POST /commit.
type CommitOptions struct {
	Repo, Tag       string
	Comment, Author string
	Changes         []string
	Pause           bool
	Config          *apicontainer.Config // the request body; nil when empty
}

// BuildOptions mirrors POST /build.
type BuildOptions struct {
	Tags        []string
	Dockerfile  string // path inside the context; "" is "Dockerfile"
	BuildArgs   map[string]*string
	Target      string
	Quiet       bool
	NoCache     bool
	Pull        bool
	Labels      map[string]string
	CacheFrom   []string
	NetworkMode string
	ExtraHosts  []string
	ShmSize     int64
	Ulimits     []*apicontainer.Ulimit
	Remove      bool // remove step containers after a successful step
	ForceRemove bool // always remove them
}

// BuildOutput receives a build's progress: text as Docker's classic
// builder prints it, and the final image ID.
type BuildOutput interface {
	Write(p []byte) (int, error)
	Aux(id string)
}
