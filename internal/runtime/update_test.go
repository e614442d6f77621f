package runtime

import (
	"context"
	"testing"

	"berth/internal/errdefs"
)

func TestCgroupResources(t *testing.T) {
	tests := []struct {
		name          string
		r             Resources
		h             Host
		mem, swap     int64
		quota         int64
		period, share uint64
		pids          *int64
	}{
		{name: "nothing"},
		{name: "memory gets twice the swap", r: Resources{Memory: 128 << 20}, mem: 128 << 20, swap: 256 << 20},
		{name: "explicit swap", r: Resources{Memory: 128 << 20, MemorySwap: -1}, mem: 128 << 20, swap: -1},
		{name: "no swap accounting", r: Resources{Memory: 128 << 20, MemorySwap: 300 << 20}, h: Host{NoSwapLimit: true}, mem: 128 << 20},
		{name: "cpus", r: Resources{NanoCPUs: 5e8}, quota: 50000, period: 100000},
		{name: "quota and period", r: Resources{CPUQuota: 20000, CPUPeriod: 40000, CPUShares: 256}, quota: 20000, period: 40000, share: 256},
		{name: "pids", r: Resources{PidsLimit: 20}, pids: ptr(int64(20))},
		{name: "pids unlimited", r: Resources{PidsLimit: -1}, pids: ptr(int64(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cgroupResources(tt.r, tt.h)
			if !got.SkipDevices {
				t.Fatal("devices would be rewritten")
			}
			if got.Memory != tt.mem || got.MemorySwap != tt.swap || got.CpuQuota != tt.quota || got.CpuPeriod != tt.period || got.CpuShares != tt.share {
				t.Fatalf("got %+v", got)
			}
			if (got.PidsLimit == nil) != (tt.pids == nil) || (got.PidsLimit != nil && *got.PidsLimit != *tt.pids) {
				t.Fatalf("pids %v, want %v", got.PidsLimit, tt.pids)
			}
		})
	}
}

func TestUpdateResourcesValidates(t *testing.T) {
	// Validation comes before the cgroups are looked up: pid 0 is never
	// reached.
	err := UpdateResources(context.Background(), 0, Resources{Memory: 1 << 20}, Host{})
	if !errdefs.IsInvalidParameter(err) || err.Error() != "Minimum memory limit allowed is 6MB" {
		t.Fatalf("err %v", err)
	}
}
