package runtime

import (
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

func mountAt(s *specs.Spec, dest string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dest {
			return m, true
		}
	}
	return specs.Mount{}, false
}

func TestSpecContainerOptions(t *testing.T) {
	adj := 300
	tests := []struct {
		name  string
		mod   func(*Config)
		check func(*testing.T, *specs.Spec)
	}{
		{"ulimits replace and add", func(c *Config) {
			c.Ulimits = []Ulimit{{Name: "nofile", Soft: 10, Hard: 20}, {Name: "core", Soft: 0, Hard: 0}}
		}, func(t *testing.T, s *specs.Spec) {
			want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}, {Type: "RLIMIT_CORE"}}
			if !slices.Equal(s.Process.Rlimits, want) {
				t.Errorf("rlimits %+v", s.Process.Rlimits)
			}
		}},
		{"shm size", func(c *Config) { c.ShmSize = 1 << 20 }, func(t *testing.T, s *specs.Spec) {
			m, _ := mountAt(s, "/dev/shm")
			if !slices.Contains(m.Options, "size=1048576") {
				t.Errorf("shm %+v", m)
			}
		}},
		{"ipc none has no shm", func(c *Config) { c.Namespaces.Shm = ShmNone }, func(t *testing.T, s *specs.Spec) {
			if _, ok := mountAt(s, "/dev/shm"); ok {
				t.Error("/dev/shm mounted")
			}
		}},
		{"ipc host binds the host's shm", func(c *Config) {
			c.Namespaces.IPC, c.Namespaces.Shm = NamespaceHost, "/dev/shm"
		}, func(t *testing.T, s *specs.Spec) {
			if _, ok := hasNS(s, specs.IPCNamespace); ok {
				t.Error("ipc namespace present")
			}
			if m, _ := mountAt(s, "/dev/shm"); m.Type != "bind" || m.Source != "/dev/shm" {
				t.Errorf("shm %+v", m)
			}
		}},
		{"pid host, pid join, uts host, cgroupns", func(c *Config) {
			c.Namespaces = Namespaces{PID: NamespaceHost, IPC: "/proc/9/ns/ipc", UTS: NamespaceHost, CgroupPrivate: true}
		}, func(t *testing.T, s *specs.Spec) {
			if _, ok := hasNS(s, specs.PIDNamespace); ok {
				t.Error("pid namespace present")
			}
			if _, ok := hasNS(s, specs.UTSNamespace); ok || s.Hostname != "" {
				t.Error("uts namespace or hostname present")
			}
			if ns, _ := hasNS(s, specs.IPCNamespace); ns.Path != "/proc/9/ns/ipc" {
				t.Errorf("ipc %+v", ns)
			}
			if _, ok := hasNS(s, specs.CgroupNamespace); !ok {
				t.Error("no cgroup namespace")
			}
		}},
		{"oom score adj and cpuset", func(c *Config) {
			c.OomScoreAdj = &adj
			c.Resources.CpusetCpus, c.Resources.CpusetMems = "0-1", "0"
		}, func(t *testing.T, s *specs.Spec) {
			if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != 300 {
				t.Error("oom score adj")
			}
			if c := s.Linux.Resources.CPU; c == nil || c.Cpus != "0-1" || c.Mems != "0" {
				t.Errorf("cpu %+v", c)
			}
		}},
		{"init wraps the command", func(c *Config) { c.InitPath = "/var/lib/berth/init/docker-init" }, func(t *testing.T, s *specs.Spec) {
			if !slices.Equal(s.Process.Args, []string{InitDestination, "--", "sh"}) {
				t.Errorf("args %q", s.Process.Args)
			}
			m, ok := mountAt(s, InitDestination)
			if !ok || m.Source != "/var/lib/berth/init/docker-init" || !slices.Contains(m.Options, "ro") {
				t.Errorf("init mount %+v", m)
			}
		}},
		{"device node and rule", func(c *Config) {
			c.Devices = []Device{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: 0o600, Permissions: "r"}}
		}, func(t *testing.T, s *specs.Spec) {
			d := s.Linux.Devices[len(s.Linux.Devices)-1]
			if d.Path != "/dev/fuse" || d.Major != 10 || d.Minor != 229 {
				t.Errorf("device %+v", d)
			}
			r := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
			if !r.Allow || *r.Major != 10 || *r.Minor != 229 || r.Access != "r" {
				t.Errorf("rule %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			s, err := Spec(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestSpecContainerOptionsInvalid(t *testing.T) {
	big := 1001
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ulimit name", func(c *Config) { c.Ulimits = []Ulimit{{Name: "bogus"}} }, "invalid ulimit type: bogus"},
		{"ulimit order", func(c *Config) { c.Ulimits = []Ulimit{{Name: "nofile", Soft: 2, Hard: 1}} }, "ulimit soft limit must be less than or equal to hard limit: 2 > 1"},
		{"oom score", func(c *Config) { c.OomScoreAdj = &big }, "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
		{"cpuset syntax", func(c *Config) { c.Resources.CpusetCpus = "a" }, "Invalid value a for cpuset cpus"},
		{"cpuset range", func(c *Config) { c.Resources.CpusetCpus = "0-3"; c.Host.NCPU = 2 }, "Requested CPUs are not available - requested 0-3, available: 0-1"},
		{"shm size", func(c *Config) { c.ShmSize = -1 }, "SHM size can not be less than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			_, err := Spec(cfg)
			if !errdefs.IsInvalidParameter(err) || err.Error() != tt.want {
				t.Fatalf("err %v, want InvalidParameter %q", err, tt.want)
			}
		})
	}
}

func TestParseCpuset(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-2,5": {0, 1, 2, 5}, "3,1": {3, 1}} {
		got, err := ParseCpuset(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "2-1", "-1", "1,"} {
		if _, err := ParseCpuset(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
