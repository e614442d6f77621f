package daemon

import (
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

func TestMergeUpdate(t *testing.T) {
	pids := func(n int64) *int64 { return &n }
	base := func() *apicontainer.HostConfig {
		return &apicontainer.HostConfig{NetworkMode: "bridge", Resources: apicontainer.Resources{Memory: 64 << 20, CPUShares: 512}}
	}
	tests := []struct {
		name   string
		hc     func() *apicontainer.HostConfig
		up     apicontainer.UpdateConfig
		check  func(t *testing.T, hc *apicontainer.HostConfig)
		errMsg string
		class  errdefs.Class
	}{
		{name: "memory cpus pids", hc: base,
			up: apicontainer.UpdateConfig{Resources: apicontainer.Resources{Memory: 128 << 20, NanoCPUs: 5e8, PidsLimit: pids(20)}},
			check: func(t *testing.T, hc *apicontainer.HostConfig) {
				if hc.Memory != 128<<20 || hc.NanoCPUs != 5e8 || *hc.PidsLimit != 20 || hc.CPUShares != 512 || hc.NetworkMode != "bridge" {
					t.Fatalf("merged %+v", hc.Resources)
				}
			}},
		{name: "restart policy only", hc: base,
			up: apicontainer.UpdateConfig{RestartPolicy: apicontainer.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}},
			check: func(t *testing.T, hc *apicontainer.HostConfig) {
				if hc.RestartPolicy.Name != "on-failure" || hc.RestartPolicy.MaximumRetryCount != 3 || hc.Memory != 64<<20 {
					t.Fatalf("merged %+v", hc)
				}
			}},
		{name: "empty update keeps everything", hc: base,
			check: func(t *testing.T, hc *apicontainer.HostConfig) {
				if hc.Memory != 64<<20 || hc.CPUShares != 512 || hc.PidsLimit != nil || hc.RestartPolicy.Name != "" {
					t.Fatalf("merged %+v", hc)
				}
			}},
		{name: "nil host config", hc: func() *apicontainer.HostConfig { return nil },
			up: apicontainer.UpdateConfig{Resources: apicontainer.Resources{CPUShares: 100}},
			check: func(t *testing.T, hc *apicontainer.HostConfig) {
				if hc.CPUShares != 100 {
					t.Fatalf("merged %+v", hc)
				}
			}},
		{name: "memory above set swap",
			hc: func() *apicontainer.HostConfig {
				return &apicontainer.HostConfig{Resources: apicontainer.Resources{Memory: 64 << 20, MemorySwap: 100 << 20}}
			},
			up:     apicontainer.UpdateConfig{Resources: apicontainer.Resources{Memory: 128 << 20}},
			errMsg: "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
			class:  errdefs.ClassInvalidParameter},
		{name: "memory above set swap with swap",
			hc: func() *apicontainer.HostConfig {
				return &apicontainer.HostConfig{Resources: apicontainer.Resources{Memory: 64 << 20, MemorySwap: 100 << 20}}
			},
			up: apicontainer.UpdateConfig{Resources: apicontainer.Resources{Memory: 128 << 20, MemorySwap: -1}},
			check: func(t *testing.T, hc *apicontainer.HostConfig) {
				if hc.Memory != 128<<20 || hc.MemorySwap != -1 {
					t.Fatalf("merged %+v", hc.Resources)
				}
			}},
		{name: "cpus over quota",
			hc: func() *apicontainer.HostConfig {
				return &apicontainer.HostConfig{Resources: apicontainer.Resources{CPUQuota: 50000}}
			},
			up:     apicontainer.UpdateConfig{Resources: apicontainer.Resources{NanoCPUs: 1e9}},
			errMsg: "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
			class:  errdefs.ClassConflict},
		{name: "period over cpus",
			hc: func() *apicontainer.HostConfig {
				return &apicontainer.HostConfig{Resources: apicontainer.Resources{NanoCPUs: 1e9}}
			},
			up:     apicontainer.UpdateConfig{Resources: apicontainer.Resources{CPUPeriod: 50000}},
			errMsg: "Conflicting options: NanoCPUs cannot be updated as CPU Period has already been set",
			class:  errdefs.ClassConflict},
		{name: "restart with autoremove",
			hc:     func() *apicontainer.HostConfig { return &apicontainer.HostConfig{AutoRemove: true} },
			up:     apicontainer.UpdateConfig{RestartPolicy: apicontainer.RestartPolicy{Name: "always"}},
			errMsg: "Restart policy cannot be updated because AutoRemove is enabled for the container",
			class:  errdefs.ClassInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.hc()
			var before apicontainer.HostConfig
			if orig != nil {
				before = *orig
			}
			got, err := mergeUpdate(orig, &tt.up)
			if orig != nil && (orig.Memory != before.Memory || orig.PidsLimit != before.PidsLimit ||
				orig.RestartPolicy != before.RestartPolicy || orig.NanoCPUs != before.NanoCPUs) {
				t.Fatalf("the shared host config was modified: %+v", orig)
			}
			if tt.errMsg != "" {
				if err == nil || err.Error() != tt.errMsg || errdefs.ClassOf(err) != tt.class {
					t.Fatalf("err %v (class %v), want %q", err, errdefs.ClassOf(err), tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == orig {
				t.Fatal("merge returned the shared host config")
			}
			tt.check(t, got)
		})
	}
}

func TestCannotUpdate(t *testing.T) {
	for _, tt := range []struct {
		err   error
		class errdefs.Class
	}{
		{errdefs.InvalidParameterf("bad"), errdefs.ClassInvalidParameter},
		{errdefs.Conflictf("bad"), errdefs.ClassConflict},
		{strings.NewReader("").UnreadByte(), errdefs.ClassSystem},
	} {
		got := cannotUpdate("abc", tt.err)
		if errdefs.ClassOf(got) != tt.class || !strings.HasPrefix(got.Error(), "Cannot update container abc: ") {
			t.Errorf("%v: %v (class %v)", tt.err, got, errdefs.ClassOf(got))
		}
	}
}

func TestRuntimeResourcesPids(t *testing.T) {
	pids := func(n int64) *int64 { return &n }
	for _, tt := range []struct {
		in   *int64
		want int64
	}{{nil, 0}, {pids(0), -1}, {pids(-1), -1}, {pids(20), 20}} {
		if got := runtimeResources(apicontainer.Resources{PidsLimit: tt.in}).PidsLimit; got != tt.want {
			t.Errorf("pids %v: %d, want %d", tt.in, got, tt.want)
		}
	}
}
