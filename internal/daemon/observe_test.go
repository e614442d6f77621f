package daemon

import (
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"

	"berth/internal/errdefs"
	"berth/internal/runtime"
)

func TestParsePSOutput(t *testing.T) {
	const ef = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 13:00 ?        00:00:01 /sbin/init
root         100      90  0 13:01 ?        00:00:00 sleep 60
root         101     100  0 13:01 ?        00:00:00 sh -c echo  a   b
`
	tests := []struct {
		name    string
		out     string
		pids    []int
		want    [][]string
		titles  []string
		wantErr bool
	}{
		{
			name: "ps -ef keeps the container's rows, command joined", out: ef, pids: []int{100, 101},
			titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
			want: [][]string{
				{"root", "100", "90", "0", "13:01", "?", "00:00:00", "sleep 60"},
				{"root", "101", "100", "0", "13:01", "?", "00:00:00", "sh -c echo a b"},
			},
		},
		{name: "no container process", out: ef, pids: []int{7}, titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, want: [][]string{}},
		{
			name: "thread rows follow their process", pids: []int{5},
			out:    "PID TTY STAT TIME COMMAND\n5 ? - 0:00 sleep 1\n- - Ss 0:00 -\n6 ? - 0:00 other\n- - S 0:00 -\n",
			titles: []string{"PID", "TTY", "STAT", "TIME", "COMMAND"},
			want:   [][]string{{"5", "?", "-", "0:00", "sleep 1"}, {"-", "-", "Ss", "0:00", "-"}},
		},
		{name: "no PID column", out: "USER COMMAND\nroot sleep\n", pids: []int{1}, wantErr: true},
		{name: "garbage pid", out: "PID CMD\nabc sleep\n", pids: []int{1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePSOutput([]byte(tt.out), tt.pids)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(got.Titles, tt.titles) || !reflect.DeepEqual(got.Processes, tt.want) {
				t.Fatalf("got %q %q\nwant %q %q", got.Titles, got.Processes, tt.titles, tt.want)
			}
		})
	}
}

func TestValidatePSArgs(t *testing.T) {
	tests := []struct {
		args string
		ok   bool
	}{
		{"-ef", true},
		{"aux", true},
		{"-o pid=PID,comm", true},
		{"-o user=PID", false},
	}
	for _, tt := range tests {
		err := validatePSArgs(tt.args)
		if (err == nil) != tt.ok || (err != nil && !errdefs.IsInvalidParameter(err)) {
			t.Errorf("validatePSArgs(%q) = %v", tt.args, err)
		}
	}
	if got := psPidsArg([]int{3, 14, 15}); got != "-q3,14,15" {
		t.Errorf("psPidsArg = %q", got)
	}
}

func TestStatsResponse(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sample := func(cpu, sys uint64, at time.Time) *runtime.Sample {
		st := cgroups.NewStats()
		st.CpuStats.CpuUsage = cgroups.CpuUsage{TotalUsage: cpu, PercpuUsage: []uint64{cpu}, UsageInKernelmode: 1, UsageInUsermode: 2}
		st.MemoryStats.Usage = cgroups.MemoryData{Usage: 4 << 20, MaxUsage: 5 << 20, Limit: 1 << 62}
		st.MemoryStats.Stats["total_inactive_file"] = 1 << 20
		st.PidsStats = cgroups.PidsStats{Current: 2, Limit: 42}
		st.BlkioStats.IoServiceBytesRecursive = []cgroups.BlkioStatEntry{{Major: 8, Op: "Read", Value: 512}}
		return &runtime.Sample{Cgroup: st, SystemCPU: sys, OnlineCPUs: 2, MachineMemory: 8 << 30, Read: at}
	}
	pre := sample(100, 1000, t0)
	cur := sample(300, 2000, t0.Add(time.Second))
	got := statsResponse("id1", "/web", cur, pre)
	if got.ID != "id1" || got.Name != "/web" || !got.Read.Equal(cur.Read) || !got.PreRead.Equal(t0) {
		t.Fatalf("identity/times: %+v", got)
	}
	if got.MemoryStats.Limit != 8<<30 {
		t.Errorf("unlimited memory not capped at machine memory: %d", got.MemoryStats.Limit)
	}
	if got.MemoryStats.Usage != 4<<20 || got.MemoryStats.MaxUsage != 5<<20 || got.MemoryStats.Stats["total_inactive_file"] != 1<<20 {
		t.Errorf("memory: %+v", got.MemoryStats)
	}
	if got.CPUStats.CPUUsage.TotalUsage != 300 || got.PreCPUStats.CPUUsage.TotalUsage != 100 ||
		got.CPUStats.SystemUsage != 2000 || got.PreCPUStats.SystemUsage != 1000 || got.CPUStats.OnlineCPUs != 2 {
		t.Errorf("cpu: %+v / %+v", got.CPUStats, got.PreCPUStats)
	}
	if got.PidsStats.Current != 2 || got.PidsStats.Limit != 42 {
		t.Errorf("pids: %+v", got.PidsStats)
	}
	if b := got.BlkioStats.IoServiceBytesRecursive; len(b) != 1 || b[0].Major != 8 || b[0].Value != 512 || b[0].Op != "Read" {
		t.Errorf("blkio: %+v", b)
	}
	if got.BlkioStats.IoServicedRecursive != nil {
		t.Errorf("absent blkio list should stay null")
	}
	// Without an earlier sample precpu stays empty, as on Docker's first
	// streamed document.
	if first := statsResponse("id1", "/web", cur, nil); !first.PreRead.IsZero() || first.PreCPUStats.CPUUsage.TotalUsage != 0 {
		t.Errorf("first sample has precpu: %+v", first.PreCPUStats)
	}
}
