package runtime

import (
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

const (
	minMemory        = 6 * 1024 * 1024
	defaultCPUPeriod = 100000
)

// resources validates the limits with Docker's wording and maps them to the
// spec's cgroup resources.
func resources(cfg Config) (*specs.LinuxResources, error) {
	r := cfg.Resources
	if err := validateResources(r, cfg.Host); err != nil {
		return nil, err
	}
	out := &specs.LinuxResources{Devices: deviceRules(cfg.Privileged)}

	if r.Memory > 0 || r.MemoryReservation > 0 || r.MemorySwap != 0 || r.OomKillDisable {
		m := &specs.LinuxMemory{}
		if r.Memory > 0 {
			m.Limit = ptr(r.Memory)
			swap := r.MemorySwap
			if swap == 0 {
				// Docker's default: as much swap as memory.
				swap = 2 * r.Memory
			}
			if !cfg.Host.NoSwapLimit {
				m.Swap = ptr(swap)
			}
		}
		if r.MemoryReservation > 0 {
			m.Reservation = ptr(r.MemoryReservation)
		}
		if r.OomKillDisable {
			m.DisableOOMKiller = ptr(true)
		}
		out.Memory = m
	}

	if r.NanoCPUs > 0 || r.CPUShares > 0 || r.CPUQuota > 0 || r.CPUPeriod > 0 {
		c := &specs.LinuxCPU{}
		if r.CPUShares > 0 {
			c.Shares = ptr(uint64(r.CPUShares))
		}
		if r.NanoCPUs > 0 {
			c.Period = ptr(uint64(defaultCPUPeriod))
			c.Quota = ptr(r.NanoCPUs * defaultCPUPeriod / 1e9)
		}
		if r.CPUPeriod > 0 {
			c.Period = ptr(uint64(r.CPUPeriod))
		}
		if r.CPUQuota > 0 {
			c.Quota = ptr(r.CPUQuota)
		}
		out.CPU = c
	}

	if r.CpusetCpus != "" || r.CpusetMems != "" {
		if out.CPU == nil {
			out.CPU = &specs.LinuxCPU{}
		}
		out.CPU.Cpus, out.CPU.Mems = r.CpusetCpus, r.CpusetMems
	}
	if r.PidsLimit > 0 {
		out.Pids = &specs.LinuxPids{Limit: ptr(r.PidsLimit)}
	}
	return out, nil
}

func validateResources(r Resources, h Host) error {
	if r.Memory < 0 || r.MemoryReservation < 0 || r.CPUShares < 0 || r.CPUQuota < -1 || r.CPUPeriod < 0 || r.NanoCPUs < 0 {
		return errdefs.InvalidParameterf("resource limits must not be negative")
	}
	if r.Memory > 0 && r.Memory < minMemory {
		return errdefs.InvalidParameterf("Minimum memory limit allowed is 6MB")
	}
	if r.MemorySwap > 0 && r.Memory == 0 {
		return errdefs.InvalidParameterf("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return errdefs.InvalidParameterf("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if r.MemoryReservation > 0 && r.MemoryReservation < minMemory {
		return errdefs.InvalidParameterf("Minimum memory reservation allowed is 6MB")
	}
	if r.Memory > 0 && r.MemoryReservation > 0 && r.Memory < r.MemoryReservation {
		return errdefs.InvalidParameterf("Minimum memory limit can not be less than memory reservation limit, see usage")
	}
	if r.NanoCPUs > 0 && r.CPUPeriod > 0 {
		return errdefs.InvalidParameterf("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}
	if r.NanoCPUs > 0 && r.CPUQuota > 0 {
		return errdefs.InvalidParameterf("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
	}
	if h.NCPU > 0 && r.NanoCPUs > int64(h.NCPU)*1e9 {
		return errdefs.InvalidParameterf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", h.NCPU, h.NCPU)
	}
	if r.NanoCPUs > 0 && r.NanoCPUs < 1e7 {
		return errdefs.InvalidParameterf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", max(h.NCPU, 1), max(h.NCPU, 1))
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return errdefs.InvalidParameterf("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if r.CPUQuota > 0 && r.CPUQuota < 1000 {
		return errdefs.InvalidParameterf("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
