package api

import (
	"context"
	"io"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
)

// ContainerBackend is what the container routes need.
type ContainerBackend interface {
	Create(ctx context.Context, name string, cfg *apicontainer.Config, hc *apicontainer.HostConfig) (backend.CreateResult, error)
	Start(ctx context.Context, ref string) error
	Stop(ctx context.Context, ref string, opts backend.StopOptions) error
	Restart(ctx context.Context, ref string, opts backend.StopOptions) error
	Kill(ctx context.Context, ref, signal string) error
	Remove(ctx context.Context, ref string, opts backend.RemoveOptions) error
	Wait(ctx context.Context, ref string, cond apicontainer.WaitCondition, ready func()) (code int, errMsg string, err error)
	List(ctx context.Context, opts backend.ContainerListOptions) ([]apicontainer.Summary, error)
	Inspect(ctx context.Context, ref string, size bool) (*apicontainer.InspectResponse, error)
	Logs(ctx context.Context, ref string, opts backend.LogsOptions, ready func(tty bool) error, emit backend.Emit) error
	Attach(ctx context.Context, ref string, opts backend.AttachOptions, ready func(tty bool) error, emit backend.Emit) error
	Rename(ctx context.Context, ref, newName string) error
}

// ImageBackend is what the image routes need.
type ImageBackend interface {
	Import(ctx context.Context, r io.Reader, opts backend.ImportOptions) (digest.Digest, error)
	List(ctx context.Context, all bool, filters backend.Filters) ([]apiimage.Summary, error)
	Inspect(ctx context.Context, ref string) (*apiimage.InspectResponse, error)
	Tag(ctx context.Context, src, repo, tag string) error
	Delete(ctx context.Context, ref string, force, prune bool) ([]apiimage.DeleteResponse, error)
}

// SystemBackend is what /version and /info need.
type SystemBackend interface {
	Version(ctx context.Context) system.VersionResponse
	Info(ctx context.Context) system.Info
}

// EventsBackend is the event bus as /events sees it.
type EventsBackend interface {
	Subscribe(since time.Time, filter func(events.Message) bool) (past []events.Message, live <-chan events.Message, cancel func())
}

// Backends are the services the server routes to.
type Backends struct {
	Containers ContainerBackend
	Images     ImageBackend
	System     SystemBackend
	Events     EventsBackend
	Volumes    VolumeBackend
	// Distribution serves pull, push, /auth and search; nil answers 501.
	Distribution DistributionBackend
	// ImageArchive serves save, load and history (nil: not supported).
	ImageArchive ImageArchiveBackend
	DiskUsage    DiskUsageBackend
	Networks     NetworkBackend
	Builds       BuildBackend // nil: no /build routes
}
