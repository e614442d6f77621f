package daemon

import (
	"context"
	"fmt"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// runtimeMountPoints are the files the runtime bind-mounts into every
// container; the empty files it creates for them belong to no image.
var runtimeMountPoints = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}

// Commit makes an image from a container's changes, like docker commit:
// the container's config (with the request's overrides and Dockerfile-style
// changes applied) on top of its image, plus one layer of its writes.
func (s *Containers) Commit(ctx context.Context, ref string, opts backend.CommitOptions) (digest.Digest, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return "", err
	}
	if snap.State.Status == container.StatusRemoving || snap.State.Status == container.StatusDead {
		return "", errdefs.Conflictf("You cannot commit container %s which is being removed", snap.ID)
	}
	tag := ""
	if opts.Repo != "" {
		tag = opts.Repo
		if opts.Tag != "" {
			tag += ":" + opts.Tag
		}
	}
	parent, err := s.images.Get(ctx, snap.ImageID.String())
	if err != nil {
		return "", err
	}
	cfg := imageConfigOf(snap.Config, parent.Config.Config)
	if opts.Config != nil {
		overrideConfig(&cfg, opts.Config)
	}
	if err := image.ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	if opts.Pause && snap.State.Status == container.StatusRunning {
		if err := s.Pause(ctx, snap.ID); err == nil {
			defer func() {
				if err := s.Unpause(context.WithoutCancel(ctx), snap.ID); err != nil {
					s.log.Warn("unpause after commit", "container", snap.ID, "err", err)
				}
			}()
		}
	}
	img, err := s.images.Commit(ctx, image.CommitOptions{
		Parent: snap.ImageID, Container: snap.ID, Exclude: runtimeMountPoints, Config: cfg,
		Author: opts.Author, Comment: opts.Comment, Ref: tag,
	})
	if err != nil {
		return "", fmt.Errorf("committing container %s: %w", snap.ID[:12], err)
	}
	attrs := map[string]string{"comment": opts.Comment, "imageID": img.ID.String(), "imageRef": familiarTagged(tag)}
	if tag == "" {
		delete(attrs, "imageRef")
	}
	s.publish(snap, apievents.ActionCommit, attrs)
	return img.ID, nil
}

// imageConfigOf is the image config a container's config amounts to; the
// image's exposed ports and shell are kept, as the container's config does
// not repeat them.
func imageConfigOf(c *apicontainer.Config, img dockerspec.DockerOCIImageConfig) dockerspec.DockerOCIImageConfig {
	out := img
	if c == nil {
		return out
	}
	out.User, out.WorkingDir, out.StopSignal = c.User, c.WorkingDir, c.StopSignal
	out.Env = append([]string(nil), c.Env...)
	out.Cmd = append([]string(nil), c.Cmd...)
	out.Entrypoint = append([]string(nil), c.Entrypoint...)
	if len(out.Cmd) == 0 {
		out.Cmd = nil
	}
	if len(out.Entrypoint) == 0 {
		out.Entrypoint = nil
	}
	out.Labels = copyMap(c.Labels)
	if len(c.Volumes) > 0 {
		out.Volumes = map[string]struct{}{}
		for k := range c.Volumes {
			out.Volumes[k] = struct{}{}
		}
	}
	for p := range c.ExposedPorts {
		if out.ExposedPorts == nil {
			out.ExposedPorts = map[string]struct{}{}
		}
		out.ExposedPorts[p.String()] = struct{}{}
	}
	if c.Healthcheck != nil {
		hc := *c.Healthcheck
		out.Healthcheck = &hc
	}
	out.OnBuild = append([]string(nil), c.OnBuild...)
	if len(out.OnBuild) == 0 {
		out.OnBuild = nil
	}
	if len(c.Shell) > 0 {
		out.Shell = c.Shell
	}
	return out
}

// overrideConfig applies the fields a commit request's config sets, with
// Docker's merge rules (an entrypoint without a cmd drops the cmd).
func overrideConfig(out *dockerspec.DockerOCIImageConfig, u *apicontainer.Config) {
	if u.User != "" {
		out.User = u.User
	}
	if u.WorkingDir != "" {
		out.WorkingDir = u.WorkingDir
	}
	if u.StopSignal != "" {
		out.StopSignal = u.StopSignal
	}
	if len(u.Entrypoint) > 0 {
		out.Entrypoint = u.Entrypoint
		out.Cmd = u.Cmd
	} else if len(u.Cmd) > 0 {
		out.Cmd = u.Cmd
	}
	out.Env = mergeEnv(out.Env, u.Env)
	for k, v := range u.Labels {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[k] = v
	}
	for p := range u.ExposedPorts {
		if out.ExposedPorts == nil {
			out.ExposedPorts = map[string]struct{}{}
		}
		out.ExposedPorts[p.String()] = struct{}{}
	}
	for v := range u.Volumes {
		if out.Volumes == nil {
			out.Volumes = map[string]struct{}{}
		}
		out.Volumes[v] = struct{}{}
	}
	if u.Healthcheck != nil {
		out.Healthcheck = u.Healthcheck
	}
	if len(u.OnBuild) > 0 {
		out.OnBuild = u.OnBuild
	}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
