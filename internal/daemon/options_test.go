package daemon

import (
	"syscall"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

func TestParseSecurityOpts(t *testing.T) {
	tests := []struct {
		in      []string
		seccomp string
		nnp     bool
		err     string
	}{
		{in: []string{"no-new-privileges"}, nnp: true},
		{in: []string{"no-new-privileges=true", "seccomp=unconfined"}, nnp: true, seccomp: "unconfined"},
		{in: []string{"no-new-privileges:false", "seccomp:builtin"}},
		{in: []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}, seccomp: `{"defaultAction":"SCMP_ACT_ALLOW"}`},
		{in: []string{"apparmor=unconfined", "label=disable"}},
		{in: []string{"bogus"}, err: `invalid --security-opt 1: "bogus"`},
		{in: []string{"bogus=1"}, err: `invalid --security-opt 2: "bogus=1"`},
		{in: []string{"no-new-privileges=maybe"}, err: `invalid --security-opt 2: "no-new-privileges=maybe"`},
	}
	for _, tt := range tests {
		got, err := parseSecurityOpts(tt.in)
		if tt.err != "" {
			if !errdefs.IsInvalidParameter(err) || err.Error() != tt.err {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.seccomp != tt.seccomp || got.noNewPrivileges != tt.nnp {
			t.Errorf("%q: %+v %v", tt.in, got, err)
		}
	}
}

func TestValidateOptions(t *testing.T) {
	tests := []struct {
		name string
		cfg  apicontainer.Config
		hc   apicontainer.HostConfig
		want string
	}{
		{"pid", apicontainer.Config{}, apicontainer.HostConfig{PidMode: "bogus"}, "invalid PID mode: bogus"},
		{"pid container without ref", apicontainer.Config{}, apicontainer.HostConfig{PidMode: "container:"}, "invalid PID mode: container:"},
		{"ipc", apicontainer.Config{}, apicontainer.HostConfig{IpcMode: "bogus"}, "invalid IPC mode: bogus"},
		{"uts", apicontainer.Config{}, apicontainer.HostConfig{UTSMode: "private"}, "invalid UTS mode: private"},
		{"cgroupns", apicontainer.Config{}, apicontainer.HostConfig{CgroupnsMode: "x"}, "invalid cgroup namespace mode: x"},
		{"uts host with hostname", apicontainer.Config{Hostname: "h"}, apicontainer.HostConfig{UTSMode: "host"}, "conflicting options: hostname and the UTS mode"},
		{"stop signal", apicontainer.Config{StopSignal: "SIGNOPE"}, apicontainer.HostConfig{}, "Invalid signal: SIGNOPE"},
		{"oom score", apicontainer.Config{}, apicontainer.HostConfig{OomScoreAdj: -1001}, "Invalid value -1001, range for oom score adj is [-1000, 1000]"},
		{"ulimit", apicontainer.Config{}, apicontainer.HostConfig{Resources: apicontainer.Resources{Ulimits: []*apicontainer.Ulimit{{Name: "nofiles", Soft: 1, Hard: 1}}}}, "invalid ulimit type: nofiles"},
		{"shm", apicontainer.Config{}, apicontainer.HostConfig{ShmSize: -5}, "SHM size can not be less than 0"},
		{"cpuset", apicontainer.Config{}, apicontainer.HostConfig{Resources: apicontainer.Resources{CpusetCpus: "1-"}}, "Invalid value 1- for cpuset cpus"},
		{"ok", apicontainer.Config{StopSignal: "USR1"}, apicontainer.HostConfig{PidMode: "container:x", IpcMode: "shareable", UTSMode: "host"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateOptions(&tt.cfg, &tt.hc)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errdefs.IsInvalidParameter(err) || err.Error() != tt.want {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
	hc := apicontainer.HostConfig{}
	if err := validateOptions(&apicontainer.Config{}, &hc); err != nil || hc.IpcMode != "private" || hc.CgroupnsMode == "" {
		t.Fatalf("defaults: %v %q %q", err, hc.IpcMode, hc.CgroupnsMode)
	}
}

func TestEndsRestarts(t *testing.T) {
	tests := []struct {
		stop string
		sig  syscall.Signal
		want bool
	}{
		{"", syscall.SIGUSR1, true},
		{"", syscall.SIGKILL, true},
		{"SIGUSR2", syscall.SIGUSR2, true},
		{"usr2", syscall.SIGUSR2, true},
		{"SIGUSR2", syscall.SIGTERM, false},
		{"SIGUSR2", syscall.SIGKILL, true},
	}
	for _, tt := range tests {
		if got := endsRestarts(tt.stop, tt.sig); got != tt.want {
			t.Errorf("endsRestarts(%q, %v) = %v", tt.stop, tt.sig, got)
		}
	}
}
