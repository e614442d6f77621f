package daemon

import (
	"berth/internal/backend"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/storage"

	"berth/internal/container"
	"berth/internal/errdefs"
)

var validListFilters = map[string]bool{"id": true, "name": true, "label": true, "status": true,
	"exited": true, "ancestor": true, "before": true, "since": true, "health": true,
	"network": true, "volume": true, "publish": true, "expose": true, "isolation": true, "is-task": true}

// List returns container summaries newest first, as Docker orders them.
func (s *Containers) List(ctx context.Context, opts backend.ContainerListOptions) ([]apicontainer.Summary, error) {
	for k := range opts.Filters {
		if !validListFilters[k] {
			return nil, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	for v := range opts.Filters["health"] {
		if apicontainer.ValidateHealthStatus(apicontainer.HealthStatus(v)) != nil {
			return nil, errdefs.InvalidParameterf("Unrecognised filter value for health: %s", v)
		}
	}
	for v := range opts.Filters["status"] {
		if err := apicontainer.ValidateContainerState(apicontainer.ContainerState(v)); err != nil {
			return nil, errdefs.InvalidParameterf("invalid filter 'status=%s'", v)
		}
	}
	all := s.store.List()
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	var beforeT, sinceT time.Time
	for v := range opts.Filters["before"] {
		c, err := s.store.Lookup(v)
		if err != nil {
			return nil, err
		}
		beforeT = c.Created
	}
	for v := range opts.Filters["since"] {
		c, err := s.store.Lookup(v)
		if err != nil {
			return nil, err
		}
		sinceT = c.Created
	}
	var ancestors map[string]bool
	if vals := opts.Filters["ancestor"]; len(vals) > 0 {
		ancestors = map[string]bool{}
		for v := range vals {
			if img, err := s.images.Get(ctx, v); err == nil {
				ancestors[img.ID.String()] = true
			}
		}
	}
	out := []apicontainer.Summary{}
	for _, c := range all {
		if !beforeT.IsZero() && !c.Created.Before(beforeT) {
			continue
		}
		if !sinceT.IsZero() && !c.Created.After(sinceT) {
			continue
		}
		// Without -a only running containers show; a status filter
		// widens that like Docker's.
		if !opts.All && len(opts.Filters["status"]) == 0 && len(opts.Filters["exited"]) == 0 && !c.State.IsRunning() && c.State.Status != container.StatusRestarting {
			continue
		}
		if !matchFilters(c, opts.Filters, ancestors) || !s.matchNetFilters(c, opts.Filters) ||
			!s.volumes.usesVolume(c.ID, opts.Filters["volume"]) {
			continue
		}
		out = append(out, s.summary(ctx, c, opts.Size))
		if opts.Limit > 0 && len(out) >= opts.Limit {
			break
		}
	}
	return out, nil
}

func matchFilters(c *container.Snapshot, f backend.Filters, ancestors map[string]bool) bool {
	if vals := f["id"]; len(vals) > 0 && !anyMatch(vals, func(v string) bool { return strings.HasPrefix(c.ID, v) }) {
		return false
	}
	if vals := f["name"]; len(vals) > 0 && !anyMatch(vals, func(v string) bool { return strings.Contains(trimSlash(c.Name), trimSlash(v)) }) {
		return false
	}
	if vals := f["status"]; len(vals) > 0 && !vals[string(c.State.Status)] {
		return false
	}
	if vals := f["exited"]; len(vals) > 0 {
		if c.State.Status != container.StatusExited || !vals[strconv.Itoa(c.State.ExitCode)] {
			return false
		}
	}
	for v := range f["label"] {
		k, want, hasVal := strings.Cut(v, "=")
		got, ok := c.Config.Labels[k]
		if !ok || (hasVal && got != want) {
			return false
		}
	}
	if vals := f["health"]; len(vals) > 0 && !vals[healthStatus(c.State)] {
		return false
	}
	if ancestors != nil && !ancestors[c.ImageID.String()] {
		return false
	}
	return true
}

func anyMatch(vals map[string]bool, fn func(string) bool) bool {
	for v := range vals {
		if fn(v) {
			return true
		}
	}
	return false
}

func (s *Containers) summary(ctx context.Context, c *container.Snapshot, withSize bool) apicontainer.Summary {
	sum := apicontainer.Summary{
		ID: c.ID, Names: []string{c.Name}, Image: c.Config.Image, ImageID: c.ImageID.String(),
		Command: commandString(c), Created: c.Created.Unix(), Ports: s.portSummaries(c),
		Labels: c.Config.Labels, State: apicontainer.ContainerState(c.State.Status),
		Status: statusString(c.State, time.Now()), Mounts: s.volumes.mountPoints(c.ID),
		NetworkSettings: &apicontainer.NetworkSettingsSummary{Networks: s.networkSettings(c).Networks},
	}
	sum.HostConfig.NetworkMode = string(c.HostConfig.NetworkMode)
	sum.Health = &apicontainer.HealthSummary{Status: apicontainer.HealthStatus(healthStatus(c.State))}
	if c.State.Health != nil {
		sum.Health.FailingStreak = c.State.Health.FailingStreak
	}
	if withSize {
		if n, err := s.images.RWSize(ctx, c.ID); err == nil {
			sum.SizeRw = n
		}
		if img, err := s.images.Get(ctx, c.ImageID.String()); err == nil {
			sum.SizeRootFs = img.Size + sum.SizeRw
		}
	}
	return sum
}

// commandString renders COMMAND as Docker does: arguments with spaces are
// single-quoted.
func commandString(c *container.Snapshot) string {
	parts := []string{c.Path}
	for _, a := range c.Args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// statusString is the human STATUS column, computed by the daemon as Docker does.
func statusString(st container.State, now time.Time) string {
	switch st.Status {
	case container.StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + healthSuffix(st)
	case container.StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case container.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case container.StatusRemoving:
		return "Removal In Progress"
	case container.StatusDead:
		return "Dead"
	case container.StatusExited:
		if st.FinishedAt.IsZero() {
			return "Created"
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	}
	return "Created"
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Inspect returns Docker's inspect document for a container.
func (s *Containers) Inspect(ctx context.Context, ref string, withSize bool) (*apicontainer.InspectResponse, error) {
	c, err := s.store.Lookup(ref)
	if err != nil {
		return nil, err
	}
	st := c.State
	resp := &apicontainer.InspectResponse{
		ID: c.ID, Created: timeString(c.Created), Path: c.Path, Args: c.Args,
		State: &apicontainer.State{
			Status: apicontainer.ContainerState(st.Status), Running: st.IsRunning() || st.Status == container.StatusRestarting,
			Paused: st.Status == container.StatusPaused, Restarting: st.Status == container.StatusRestarting,
			OOMKilled: st.OOMKilled, Dead: st.Status == container.StatusDead, Pid: st.Pid,
			ExitCode: st.ExitCode, Error: st.Error, StartedAt: timeString(st.StartedAt), FinishedAt: timeString(st.FinishedAt),
			Health: inspectHealth(st.Health),
		},
		Image: c.ImageID.String(), ResolvConfPath: c.ResolvConfPath, HostnamePath: c.HostnamePath,
		HostsPath: c.HostsPath, LogPath: c.LogPath, Name: c.Name, RestartCount: c.RestartCount,
		Driver: c.Driver, Platform: "linux", HostConfig: c.HostConfig, Config: c.Config,
		Mounts:          s.volumes.mountPoints(c.ID),
		GraphDriver:     &storage.DriverData{Name: c.Driver, Data: map[string]string{}},
		NetworkSettings: s.networkSettings(c),
	}
	if withSize {
		if n, err := s.images.RWSize(ctx, c.ID); err == nil {
			resp.SizeRw = &n
			root := n
			if img, err := s.images.Get(ctx, c.ImageID.String()); err == nil {
				root += img.Size
			}
			resp.SizeRootFs = &root
		}
	}
	return resp, nil
}
