package backend

import (
	"io"
	"time"
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
	Stdin          bool
	DetachKeys     string // "" is Docker's ctrl-p,ctrl-q
}

// AttachStreams are the client's side of an attach, once the API took over
// the connection: Stdin is the client's input (EOF is a half-close, an
// error that it left), Stdout and Stderr write to it (framed by the API).
type AttachStreams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
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
