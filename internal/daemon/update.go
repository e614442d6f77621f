package daemon

import (
	"context"
	"fmt"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/runtime"
)

// Update changes a container's resource limits and restart policy, as
// docker update does. A running (or paused) container gets the new limits
// in its cgroups at once; every container keeps them in its HostConfig for
// inspect and the next start. The cgroup write happens under the record's
// lock, so a failed write leaves the record as it was and a start or exit
// cannot slip in between.
func (s *Containers) Update(ctx context.Context, ref string, up *apicontainer.UpdateConfig) (apicontainer.UpdateResponse, error) {
	if up == nil {
		up = &apicontainer.UpdateConfig{}
	}
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return apicontainer.UpdateResponse{}, err
	}
	// Docker validates the request on its own first, as a host config;
	// a swap limit alone is checked against the recorded memory below.
	req := &apicontainer.HostConfig{Resources: up.Resources, RestartPolicy: up.RestartPolicy}
	if req.Memory == 0 {
		req.MemorySwap = 0
	}
	if _, err := validateHostConfig(req); err != nil {
		return apicontainer.UpdateResponse{}, err
	}
	// rollback puts the old limits back should the record fail to persist
	// after the cgroups took the new ones, so the kernel and the record
	// agree.
	var rollback func()
	after, err := s.store.Update(snap.ID, func(c *container.Container) error {
		hc, err := mergeUpdate(c.HostConfig, up)
		if err != nil {
			return cannotUpdate(c.ID, err)
		}
		if _, err := validateHostConfig(hc); err != nil {
			return cannotUpdate(c.ID, err)
		}
		if c.State.IsRunning() && c.State.Pid > 0 && resourcesChanged(up.Resources) {
			id, pid, old := c.ID, c.State.Pid, runtimeResources(c.HostConfig.Resources)
			rollback = func() {
				if err := runtime.UpdateResources(context.WithoutCancel(ctx), pid, old, s.host); err != nil {
					s.log.Warn("restoring limits after failed update", "container", id, "err", err)
				}
			}
			err := runtime.UpdateResources(ctx, pid, runtimeResources(hc.Resources), s.host)
			if err != nil && !errdefs.IsInvalidParameter(err) && !pidAlive(pid) {
				// It exited and its exit is not recorded yet: like a
				// stopped container, it gets the limits at its next start.
				err, rollback = nil, nil
			}
			if err != nil {
				// Controllers are written one by one: put back those that
				// took the new limits before one refused. (A limit that
				// was unset before cannot be unset again; memory, the one
				// the kernel refuses in practice, is written first.)
				rollback()
				rollback = nil
				return cannotUpdate(c.ID, err)
			}
		}
		c.HostConfig = hc
		return nil
	})
	if err != nil {
		if rollback != nil {
			rollback()
		}
		return apicontainer.UpdateResponse{}, err
	}
	s.publish(after, apievents.ActionUpdate, nil)
	return apicontainer.UpdateResponse{Warnings: []string{}}, nil
}

// cannotUpdate prefixes an error with Docker's wording, keeping its class;
// an unclassified one is the daemon's fault.
func cannotUpdate(id string, err error) error {
	msg := fmt.Errorf("Cannot update container %s: %w", id, err)
	if errdefs.ClassOf(err) == errdefs.ClassUnknown {
		return errdefs.System(msg)
	}
	return msg
}

// resourcesChanged reports whether the update touches any cgroup limit
// (an update of the restart policy alone leaves the cgroups alone).
func resourcesChanged(r apicontainer.Resources) bool {
	return r.Memory != 0 || r.MemorySwap != 0 || r.MemoryReservation != 0 ||
		r.NanoCPUs != 0 || r.CPUShares != 0 || r.CPUQuota != 0 || r.CPUPeriod != 0 ||
		r.PidsLimit != nil || r.CpusetCpus != "" || r.CpusetMems != ""
}

// mergeUpdate returns a copy of hc with the fields the update sets, Docker's
// way: a zero field means "leave as is". hc itself is shared with snapshots
// and is never modified.
func mergeUpdate(hc *apicontainer.HostConfig, up *apicontainer.UpdateConfig) (*apicontainer.HostConfig, error) {
	out := &apicontainer.HostConfig{}
	if hc != nil {
		*out = *hc
	}
	cur := &out.Resources
	r := up.Resources
	// --cpus is a quota over the default period: once one way of limiting
	// the CPU is set, the other cannot be added on top.
	if r.NanoCPUs > 0 && cur.CPUPeriod > 0 {
		return nil, errdefs.Conflictf("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
	}
	if r.NanoCPUs > 0 && cur.CPUQuota > 0 {
		return nil, errdefs.Conflictf("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
	}
	if r.CPUPeriod > 0 && cur.NanoCPUs > 0 {
		return nil, errdefs.Conflictf("Conflicting options: NanoCPUs cannot be updated as CPU Period has already been set")
	}
	if r.CPUQuota > 0 && cur.NanoCPUs > 0 {
		return nil, errdefs.Conflictf("Conflicting options: NanoCPUs cannot be updated as CPU Quota has already been set")
	}
	if r.CPUShares != 0 {
		cur.CPUShares = r.CPUShares
	}
	if r.NanoCPUs != 0 {
		cur.NanoCPUs = r.NanoCPUs
	}
	if r.CPUPeriod != 0 {
		cur.CPUPeriod = r.CPUPeriod
	}
	if r.CPUQuota != 0 {
		cur.CPUQuota = r.CPUQuota
	}
	if r.Memory != 0 {
		// The swap limit includes memory: raising memory past an explicit
		// swap limit needs the swap raised too.
		if r.MemorySwap == 0 && cur.MemorySwap > 0 && r.Memory > cur.MemorySwap {
			return nil, errdefs.InvalidParameterf("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
		}
		cur.Memory = r.Memory
	}
	if r.MemorySwap != 0 {
		cur.MemorySwap = r.MemorySwap
	}
	if r.MemoryReservation != 0 {
		cur.MemoryReservation = r.MemoryReservation
	}
	if r.PidsLimit != nil {
		limit := *r.PidsLimit
		cur.PidsLimit = &limit
	}
	if err := mergeCpuset(cur, r); err != nil {
		return nil, err
	}
	if up.RestartPolicy.Name != "" {
		if out.AutoRemove && up.RestartPolicy.Name != apicontainer.RestartPolicyDisabled {
			return nil, errdefs.InvalidParameterf("Restart policy cannot be updated because AutoRemove is enabled for the container")
		}
		out.RestartPolicy = up.RestartPolicy
	}
	return out, nil
}

// runtimeResources maps a HostConfig's limits to runtime's, as start does.
func runtimeResources(r apicontainer.Resources) runtime.Resources {
	var pids int64
	if r.PidsLimit != nil {
		pids = *r.PidsLimit
		if pids == 0 {
			// Docker's "0 = unlimited", which runtime spells -1.
			pids = -1
		}
	}
	return runtime.Resources{
		Memory: r.Memory, MemorySwap: r.MemorySwap, MemoryReservation: r.MemoryReservation,
		NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares, CPUQuota: r.CPUQuota, CPUPeriod: r.CPUPeriod,
		PidsLimit: pids, OomKillDisable: r.OomKillDisable != nil && *r.OomKillDisable,
		CpusetCpus: r.CpusetCpus, CpusetMems: r.CpusetMems,
	}
}
