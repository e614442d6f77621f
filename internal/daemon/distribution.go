package daemon

import (
	"context"
	"log/slog"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/jsonstream"
	apiregistry "github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/internal/config"
	"berth/internal/daemon/events"
	"berth/internal/distribution"
	"berth/internal/image"
)

// Distribution is the registry service: pull, push, login, search.
type Distribution struct {
	svc    *distribution.Service
	store  *image.Store
	events *events.Bus
}

func newDistribution(cfg config.Config, store *image.Store, bus *events.Bus, log *slog.Logger) (*Distribution, error) {
	svc, err := distribution.New(store, cfg.DataRoot, distribution.Config{
		Mirrors:   cfg.RegistryMirrors,
		Insecure:  cfg.InsecureRegistries,
		CertsDir:  cfg.RegistryCertsDir,
		UserAgent: "berth/" + Version,
	}, log)
	if err != nil {
		return nil, err
	}
	return &Distribution{svc: svc, store: store, events: bus}, nil
}

// Pull fetches ref and publishes Docker's "pull" image event.
func (d *Distribution) Pull(ctx context.Context, ref string, platform *ocispec.Platform, all bool, auth *apiregistry.AuthConfig, emit func(jsonstream.Message)) error {
	opts := distribution.PullOptions{AllTags: all, Auth: auth}
	if platform != nil {
		opts.Platform = &v1.Platform{OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant}
	}
	if err := d.svc.Pull(ctx, ref, opts, emit); err != nil {
		return err
	}
	if img, err := d.store.Get(ctx, ref); err == nil {
		d.events.Publish(apievents.ImageEventType, apievents.ActionPull, ref, map[string]string{"name": ref})
		_ = img
	}
	return nil
}

// Push sends name (one tag, or all when tag is "") to its registry.
func (d *Distribution) Push(ctx context.Context, name, tag string, auth *apiregistry.AuthConfig, emit func(jsonstream.Message)) error {
	if err := d.svc.Push(ctx, name, tag, auth, emit); err != nil {
		return err
	}
	ref := name
	if tag != "" {
		ref += ":" + tag
	}
	d.events.Publish(apievents.ImageEventType, apievents.ActionPush, ref, map[string]string{"name": ref})
	return nil
}

// Login checks credentials against their registry.
func (d *Distribution) Login(ctx context.Context, auth *apiregistry.AuthConfig) (string, error) {
	return d.svc.Login(ctx, auth)
}

// Search looks images up in a registry.
func (d *Distribution) Search(ctx context.Context, term string, limit int, auth *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error) {
	return d.svc.Search(ctx, term, limit, auth)
}
