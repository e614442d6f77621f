package runtime

import (
	"context"

	"github.com/opencontainers/cgroups"

	"berth/internal/errdefs"
)

// UpdateResources changes the limits of the running container whose init is
// pid to r, as docker update does. r is the container's complete new set of
// limits, not a delta: what r leaves at zero is left as the kernel has it.
func UpdateResources(ctx context.Context, pid int, r Resources, h Host) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateResources(r, h); err != nil {
		return err
	}
	m, err := cgroupManager(pid)
	if err != nil {
		return err
	}
	if err := m.Set(cgroupResources(r, h)); err != nil {
		return errdefs.System(err)
	}
	return nil
}

// cgroupResources maps the limits the way resources() maps them into a
// spec, so a live update and the next start agree. Devices are skipped: an
// empty rule list would otherwise be written as "deny everything".
func cgroupResources(r Resources, h Host) *cgroups.Resources {
	out := &cgroups.Resources{
		SkipDevices:       true,
		Memory:            r.Memory,
		MemoryReservation: r.MemoryReservation,
		CpuShares:         uint64(max(r.CPUShares, 0)),
		CpusetCpus:        r.CpusetCpus,
		CpusetMems:        r.CpusetMems,
	}
	if r.Memory > 0 && !h.NoSwapLimit {
		out.MemorySwap = r.MemorySwap
		if out.MemorySwap == 0 {
			out.MemorySwap = 2 * r.Memory
		}
	}
	if r.NanoCPUs > 0 {
		out.CpuPeriod = defaultCPUPeriod
		out.CpuQuota = r.NanoCPUs * defaultCPUPeriod / 1e9
	}
	if r.CPUPeriod > 0 {
		out.CpuPeriod = uint64(r.CPUPeriod)
	}
	if r.CPUQuota != 0 {
		out.CpuQuota = r.CPUQuota
	}
	if r.PidsLimit != 0 {
		// The library writes "max" for any negative limit.
		limit := r.PidsLimit
		out.PidsLimit = &limit
	}
	return out
}
