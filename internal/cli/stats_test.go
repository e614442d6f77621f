package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestStatsEntry(t *testing.T) {
	v1 := &container.StatsResponse{
		ID: "0123456789abcdef0123", Name: "/web",
		PreCPUStats: container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 1e9}, SystemUsage: 10e9},
		CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 1.5e9}, SystemUsage: 12e9, OnlineCPUs: 2},
		MemoryStats: container.MemoryStats{Usage: 3 << 20, Limit: 64 << 20, Stats: map[string]uint64{"total_inactive_file": 1 << 20}},
		Networks:    map[string]container.NetworkStats{"eth0": {RxBytes: 1500, TxBytes: 20}, "eth1": {RxBytes: 500}},
		BlkioStats: container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
			{Op: "Read", Value: 4096}, {Op: "write", Value: 1 << 20}, {Op: "Total", Value: 99},
		}},
		PidsStats: container.PidsStats{Current: 3},
	}
	tests := []struct {
		name  string
		s     *container.StatsResponse
		trunc bool
		want  map[string]string
	}{
		{
			name: "cgroup v1 figures", s: v1, trunc: true,
			want: map[string]string{
				"ID": "0123456789ab", "Name": "web", "CPUPerc": "50.00%", "MemUsage": "2MiB / 64MiB",
				"MemPerc": "3.12%", "NetIO": "2kB / 20B", "BlockIO": "4.1kB / 1.05MB", "PIDs": "3",
			},
		},
		{
			name: "v2 inactive_file, percpu count as cpus", trunc: false,
			s: &container.StatsResponse{
				ID:          "abc",
				PreCPUStats: container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 0}, SystemUsage: 0},
				CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 1e9, PercpuUsage: []uint64{1, 2, 3, 4}}, SystemUsage: 8e9},
				MemoryStats: container.MemoryStats{Usage: 2048, Limit: 4096, Stats: map[string]uint64{"inactive_file": 1024}},
			},
			want: map[string]string{"ID": "abc", "Name": "--", "CPUPerc": "50.00%", "MemUsage": "1KiB / 4KiB", "MemPerc": "25.00%", "NetIO": "0B / 0B", "PIDs": "0"},
		},
		{
			name: "stopped container: name and ID only", s: &container.StatsResponse{ID: "abc", Name: "/old"}, trunc: true,
			want: map[string]string{"Name": "old", "CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%", "BlockIO": "0B / 0B", "PIDs": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := statsEntryFrom("asked", tt.s)
			e.trunc = tt.trunc
			got := map[string]string{
				"Container": e.Container(), "ID": e.ID(), "Name": e.Name(), "CPUPerc": e.CPUPerc(),
				"MemUsage": e.MemUsage(), "MemPerc": e.MemPerc(), "NetIO": e.NetIO(), "BlockIO": e.BlockIO(), "PIDs": e.PIDs(),
			}
			if got["Container"] != "asked" {
				t.Errorf("Container = %q", got["Container"])
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestStatsTable(t *testing.T) {
	e := statsEntryFrom("web", &container.StatsResponse{ID: "0123456789abcdef", Name: "/web"})
	e.trunc = true
	inv := &statsEntry{container: "gone", id: "gone", invalid: true}
	var buf bytes.Buffer
	if err := (listFormat{format: defaultStatsFormat, header: statsHeader}).write(&buf, []any{&e, inv}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	want := []string{
		"CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS",
		"0123456789ab web 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0",
		"gone -- -- -- / -- -- -- -- --",
	}
	if len(lines) != len(want) {
		t.Fatalf("table:\n%s", buf.String())
	}
	for i := range want {
		if norm(lines[i]) != want[i] {
			t.Errorf("line %d = %q, want %q", i, norm(lines[i]), want[i])
		}
	}
	js, err := e.MarshalJSON()
	if err != nil || !strings.Contains(string(js), `"Name":"web"`) || !strings.Contains(string(js), `"MemUsage":"0B / 0B"`) {
		t.Errorf("json %s, %v", js, err)
	}
}

func TestWriteTop(t *testing.T) {
	var buf bytes.Buffer
	if err := writeTop(&buf, []string{"PID", "CMD"}, [][]string{{"1", "sleep 60"}}); err != nil {
		t.Fatal(err)
	}
	want := "PID                 CMD\n1                   sleep 60\n"
	if buf.String() != want {
		t.Fatalf("top output %q, want %q", buf.String(), want)
	}
}
