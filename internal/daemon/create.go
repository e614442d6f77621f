package daemon

import (
	"berth/internal/backend"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/config"
	"berth/internal/container"
	"berth/internal/errdefs"
)

// Create records a new container from an image and the API's config.
func (s *Containers) Create(ctx context.Context, name string, cfg *apicontainer.Config, hc *apicontainer.HostConfig) (backend.CreateResult, error) {
	return s.CreateNetworked(ctx, name, cfg, hc, nil)
}

// CreateNetworked is Create with the request's NetworkingConfig (aliases,
// static addresses, extra networks).
func (s *Containers) CreateNetworked(ctx context.Context, name string, cfg *apicontainer.Config, hc *apicontainer.HostConfig, nc *apinet.NetworkingConfig) (backend.CreateResult, error) {
	if cfg == nil {
		return backend.CreateResult{}, errdefs.InvalidParameterf("Config cannot be empty in order to create a container")
	}
	if hc == nil {
		hc = &apicontainer.HostConfig{}
	}
	if cfg.Image == "" {
		return backend.CreateResult{}, errdefs.InvalidParameterf("no image specified")
	}
	warnings, err := validateHostConfig(hc)
	if err != nil {
		return backend.CreateResult{}, err
	}
	if err := validateOptions(cfg, hc); err != nil {
		return backend.CreateResult{}, err
	}
	warnings = append(warnings, optionWarnings(hc)...)
	img, err := s.images.Get(ctx, cfg.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return backend.CreateResult{}, errdefs.NotFoundf("No such image: %s", familiarTagged(cfg.Image))
		}
		return backend.CreateResult{}, err
	}
	merged := mergeImageConfig(cfg, img.Config.Config)
	argv := append(append([]string(nil), merged.Entrypoint...), merged.Cmd...)
	if len(argv) == 0 {
		return backend.CreateResult{}, errdefs.InvalidParameterf("no command specified")
	}
	if name != "" {
		if name, err = container.ValidateName(name); err != nil {
			return backend.CreateResult{}, err
		}
	} else {
		name = s.store.GenerateName()
	}
	if hc.NetworkMode == "" || hc.NetworkMode == "default" {
		hc.NetworkMode = "bridge"
	}
	if hc.LogConfig.Type == "" {
		// The daemon's default driver comes with its default options.
		hc.LogConfig.Type = s.cfg.LogDriver
		if len(hc.LogConfig.Config) == 0 && len(s.cfg.LogOpts) > 0 {
			hc.LogConfig.Config = map[string]string{}
			for k, v := range s.cfg.LogOpts {
				hc.LogConfig.Config[k] = v
			}
		}
	}
	id := container.NewID()
	if merged.Hostname == "" && hc.UTSMode != "host" {
		merged.Hostname = id[:12]
	}
	dir := s.store.Dir(id)
	c := &container.Container{Record: container.Record{
		ID: id, Name: name, Created: time.Now().UTC(),
		Path: argv[0], Args: argv[1:], Config: merged, HostConfig: hc,
		ImageID: img.ID, Driver: s.images.DriverName(),
		State:          container.State{Status: container.StatusCreated},
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
	}}
	if hc.LogConfig.Type == "json-file" {
		c.LogPath = filepath.Join(dir, id+"-json.log")
	}
	if err := s.configureNetwork(id, name, hc, nc); err != nil {
		return backend.CreateResult{}, err
	}
	from, err := s.volumesFrom(hc.VolumesFrom)
	if err != nil {
		return backend.CreateResult{}, err
	}
	mps, err := s.volumes.prepare(ctx, id, merged, hc, from)
	if err != nil {
		s.forgetNetwork(ctx, id)
		return backend.CreateResult{}, err
	}
	if err := s.images.CreateRW(ctx, id, img.ID); err != nil {
		s.forgetNetwork(ctx, id)
		s.volumes.drop(ctx, id, mps, true)
		return backend.CreateResult{}, fmt.Errorf("creating container layer: %w", err)
	}
	if err := s.store.Add(c); err != nil {
		s.forgetNetwork(ctx, id)
		_ = s.images.RemoveRW(ctx, id)
		s.volumes.drop(ctx, id, mps, true)
		return backend.CreateResult{}, err
	}
	if err := s.volumes.save(dir, id, mps); err != nil {
		_ = s.Remove(ctx, id, backend.RemoveOptions{Force: true})
		s.volumes.drop(ctx, id, mps, true)
		return backend.CreateResult{}, err
	}
	snap, _ := s.store.Lookup(id)
	s.publish(snap, apievents.ActionCreate, nil)
	return backend.CreateResult{ID: id, Warnings: warnings}, nil
}

// familiarTagged renders a reference the way Docker's errors name it:
// "busybox" becomes "busybox:latest"; IDs and unparsable input pass through.
func familiarTagged(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}

// mergeImageConfig fills what the user left out from the image, with
// Docker's rules: env merges by key (user wins), labels merge, an explicit
// entrypoint drops the image's cmd.
func mergeImageConfig(user *apicontainer.Config, img dockerspec.DockerOCIImageConfig) *apicontainer.Config {
	c := *user
	if len(c.Entrypoint) == 0 {
		c.Entrypoint = img.Entrypoint
		if len(c.Cmd) == 0 {
			c.Cmd = img.Cmd
		}
	}
	c.Env = mergeEnv(img.Env, user.Env)
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.User == "" {
		c.User = img.User
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	if len(img.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range img.Labels {
			labels[k] = v
		}
		for k, v := range user.Labels {
			labels[k] = v
		}
		c.Labels = labels
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Healthcheck = mergeHealthcheck(c.Healthcheck, img.Healthcheck)
	if len(img.Volumes) > 0 {
		// The image's volumes and the user's: the Docker CLI sends an
		// empty map, which must not drop the image's.
		vols := map[string]struct{}{}
		for k := range img.Volumes {
			vols[k] = struct{}{}
		}
		for k := range c.Volumes {
			vols[k] = struct{}{}
		}
		c.Volumes = vols
	}
	if len(c.OnBuild) == 0 {
		c.OnBuild = img.OnBuild
	}
	return &c
}

func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	idx := map[string]int{}
	for i, kv := range out {
		idx[envKey(kv)] = i
	}
	for _, kv := range over {
		if i, ok := idx[envKey(kv)]; ok {
			out[i] = kv
			continue
		}
		idx[envKey(kv)] = len(out)
		out = append(out, kv)
	}
	return out
}

func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}

// validateHostConfig rejects what Docker rejects at create time, with its
// wording, so nothing is recorded for a container that could never start.
func validateHostConfig(hc *apicontainer.HostConfig) ([]string, error) {
	var warnings []string
	r := hc.Resources
	if r.Memory != 0 && r.Memory < 6*1024*1024 {
		return nil, errdefs.InvalidParameterf("Minimum memory limit allowed is 6MB")
	}
	if r.Memory < 0 && r.Memory != -1 {
		return nil, errdefs.InvalidParameterf("invalid memory limit: %d", r.Memory)
	}
	if r.MemorySwap > 0 && r.Memory > 0 && r.MemorySwap < r.Memory {
		return nil, errdefs.InvalidParameterf("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if r.MemorySwap > 0 && r.Memory == 0 {
		return nil, errdefs.InvalidParameterf("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if r.MemoryReservation != 0 && r.MemoryReservation < 6*1024*1024 {
		return nil, errdefs.InvalidParameterf("Minimum memory reservation allowed is 6MB")
	}
	if r.NanoCPUs != 0 {
		ncpu := int64(runtime.NumCPU())
		if r.NanoCPUs < 0 || r.NanoCPUs < 1e7 || r.NanoCPUs > ncpu*1e9 {
			return nil, errdefs.InvalidParameterf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu)
		}
		if r.CPUQuota > 0 || r.CPUPeriod > 0 {
			return nil, errdefs.InvalidParameterf("Conflicting options: Nano CPUs and CPU Period cannot both be set")
		}
	}
	if r.CPUShares < 0 {
		return nil, errdefs.InvalidParameterf("invalid CPU shares (%d): value must be a positive integer", r.CPUShares)
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return nil, errdefs.InvalidParameterf("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if r.CPUQuota > 0 && r.CPUQuota < 1000 {
		return nil, errdefs.InvalidParameterf("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	if err := config.ValidateCgroupParent(hc.CgroupParent); err != nil {
		return nil, err
	}
	// Network modes are checked against the networks in configureNetwork.
	switch hc.RestartPolicy.Name {
	case "", "no", "always", "unless-stopped":
		if hc.RestartPolicy.MaximumRetryCount != 0 {
			return nil, errdefs.InvalidParameterf("invalid restart policy: maximum retry count can only be used with 'on-failure'")
		}
	case "on-failure":
		if hc.RestartPolicy.MaximumRetryCount < 0 {
			return nil, errdefs.InvalidParameterf("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return nil, errdefs.InvalidParameterf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", hc.RestartPolicy.Name)
	}
	if hc.AutoRemove && hc.RestartPolicy.Name != "" && hc.RestartPolicy.Name != "no" {
		return nil, errdefs.InvalidParameterf("can't create 'AutoRemove' container with restart policy")
	}
	switch hc.LogConfig.Type {
	case "", "json-file", "none":
	default:
		return nil, errdefs.InvalidParameterf("logger: no log driver named '%s' is registered", hc.LogConfig.Type)
	}
	return warnings, nil
}
