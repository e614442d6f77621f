package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
)

func TestSystemCPU(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		total   uint64
		cpus    uint32
		wantErr bool
	}{
		{
			name: "two cpus",
			data: "cpu  10 1 5 100 2 0 1 7 0 0\ncpu0 5 0 2 50 1 0 0 3 0 0\ncpu1 5 1 3 50 1 0 1 4 0 0\nintr 1 2\n",
			// steal (7) is not part of Docker's sum.
			total: 119 * uint64(time.Second) / clockTicks, cpus: 2,
		},
		{name: "no cpu line", data: "intr 1\n", wantErr: true},
		{name: "short line", data: "cpu 1 2 3\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "stat")
			if err := os.WriteFile(p, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			total, cpus, err := systemCPU(p)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (total != tt.total || cpus != tt.cpus) {
				t.Fatalf("got %d, %d; want %d, %d", total, cpus, tt.total, tt.cpus)
			}
		})
	}
}

func TestV1Paths(t *testing.T) {
	own := map[string]string{
		"cpu": "/berth/abc", "cpuacct": "/berth/abc", "memory": "/outer/berth/abc",
		"name=systemd": "/", "": "/",
	}
	mounts := []cgroups.Mount{
		{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", Subsystems: []string{"cpu", "cpuacct"}},
		{Mountpoint: "/sys/fs/cgroup/memory", Root: "/outer", Subsystems: []string{"memory"}},
		{Mountpoint: "/sys/fs/cgroup/pids", Root: "/", Subsystems: []string{"pids"}},
	}
	want := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/berth/abc",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/berth/abc",
		"memory":  "/sys/fs/cgroup/memory/berth/abc",
	}
	if got := v1Paths(own, mounts); !reflect.DeepEqual(got, want) {
		t.Fatalf("v1Paths = %v, want %v", got, want)
	}
}

// TestProcessesOwnProcess lists the test process's own cgroup: read-only,
// and present on any host with cgroups mounted. (Stats needs a non-root
// cgroup; the integration tests read a container's.)
func TestProcessesOwnProcess(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skip("no cgroups mounted")
	}
	pids, err := Processes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pids {
		found = found || p == os.Getpid()
	}
	if !found {
		t.Errorf("own pid %d not among %d cgroup pids", os.Getpid(), len(pids))
	}
}
