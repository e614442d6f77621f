package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"berth/internal/config"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/image"
	"berth/internal/runtime"
	"berth/internal/shim"
)

// Daemon wires the services together. It is not a catch-all: handlers get
// the service they need (Containers, Images, System), not this struct.
type Daemon struct {
	Containers *Containers
	Images     *Images
	System     *System
	Volumes    *Volumes
	// Distribution talks to registries (pull, push, login, search).
	Distribution *Distribution
	DiskUsage    *DiskUsage
	Networks     *Networks
	Builds       *Builds

	images *image.Store
	events *events.Bus
}

// New opens the stores under cfg.DataRoot and cfg.ExecRoot and restores
// containers left by an earlier run.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.DataRoot, cfg.ExecRoot, filepath.Join(cfg.ExecRoot, "containers")} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	imgs, err := image.New(ctx, cfg.DataRoot, cfg.StorageDriver)
	if err != nil {
		return nil, fmt.Errorf("opening image store: %w", err)
	}
	store, bad, err := container.NewStore(filepath.Join(cfg.DataRoot, "containers"))
	if err != nil {
		imgs.Close()
		return nil, fmt.Errorf("opening container store: %w", err)
	}
	for _, e := range bad {
		log.Warn("skipping unreadable container record", "err", e)
	}
	host, err := runtime.DetectHost()
	if err != nil {
		imgs.Close()
		return nil, fmt.Errorf("detecting host capabilities: %w", err)
	}
	// Seal the copy of our binary that shims start from now, so the first
	// container start does not pay for it.
	shim.Prepare()
	bus := events.New()
	vols, err := newVolumes(cfg.DataRoot, bus, log)
	if err != nil {
		imgs.Close()
		return nil, fmt.Errorf("opening volume store: %w", err)
	}
	vols.restore(store)
	netw, err := newNetworkManager(ctx, cfg, log, bus)
	if err != nil {
		imgs.Close()
		return nil, fmt.Errorf("initializing networking: %w", err)
	}
	d := &Daemon{images: imgs, events: bus}
	d.Containers = &Containers{
		cfg: cfg, log: log, store: store, images: imgs, events: bus, volumes: vols, host: host, net: netw,
		running: map[string]*running{}, waits: map[string]*waitSet{}, restarts: map[string]*restartState{},
	}
	d.Images = &Images{store: imgs, containers: store, events: bus}
	d.Volumes = vols
	if d.Distribution, err = newDistribution(cfg, imgs, bus, log); err != nil {
		imgs.Close()
		return nil, fmt.Errorf("opening distribution state: %w", err)
	}
	d.DiskUsage = &DiskUsage{images: d.Images, containers: d.Containers, volumes: vols}
	d.Networks = &Networks{mgr: netw, containers: d.Containers}
	d.System = &System{cfg: cfg, containers: store, images: imgs, events: bus}
	if d.Builds, err = newBuilds(cfg.DataRoot, d.Containers, d.Images, d.Distribution); err != nil {
		imgs.Close()
		return nil, fmt.Errorf("opening the builder: %w", err)
	}
	d.DiskUsage.builds = d.Builds
	d.Containers.restore(ctx)
	netw.ForgetUnknown(ctx, func(id string) bool { _, err := store.Lookup(id); return err == nil })
	return d, nil
}

// Close stops watching containers without stopping them: the shims keep
// them running for the next daemon (live restore).
func (d *Daemon) Close() error {
	d.Containers.detachAll()
	d.Containers.net.Close()
	return d.images.Close()
}

// waitSet holds the channels of callers waiting on a container.
type waitSet struct {
	exit    []chan exitResult
	removed []chan exitResult
}

type exitResult struct {
	code int
	err  string
}

// Events is the daemon's event bus.
func (d *Daemon) Events() *events.Bus { return d.events }
