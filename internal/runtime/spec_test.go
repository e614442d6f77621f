package runtime

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

func baseConfig() Config {
	return Config{
		ID:       "c1",
		Rootfs:   "/var/lib/berth/rootfs/c1",
		Args:     []string{"sh"},
		Hostname: "abc123",
		User:     User{Home: "/root"},
	}
}

func hasNS(s *specs.Spec, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return n, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func TestSpecDefaults(t *testing.T) {
	s, err := Spec(baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.Cwd != "/" {
		t.Errorf("cwd = %q", s.Process.Cwd)
	}
	wantEnv := []string{defaultPath, "HOSTNAME=abc123", "HOME=/root"}
	if !slices.Equal(s.Process.Env, wantEnv) {
		t.Errorf("env = %q, want %q", s.Process.Env, wantEnv)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace} {
		if _, ok := hasNS(s, ns); !ok {
			t.Errorf("missing namespace %s", ns)
		}
	}
	if !slices.Equal(s.Process.Capabilities.Bounding, defaultCaps) {
		t.Errorf("caps = %v", s.Process.Capabilities.Bounding)
	}
	if s.Linux.CgroupsPath != "berth/c1" {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked/readonly paths missing")
	}
	dests := map[string]specs.Mount{}
	for _, m := range s.Mounts {
		dests[m.Destination] = m
	}
	for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"} {
		if _, ok := dests[d]; !ok {
			t.Errorf("missing mount %s", d)
		}
	}
	if !slices.Contains(dests["/sys"].Options, "ro") {
		t.Errorf("/sys not read-only: %v", dests["/sys"].Options)
	}
	if !slices.Contains(dests["/dev/shm"].Options, "size=67108864") {
		t.Errorf("/dev/shm options %v", dests["/dev/shm"].Options)
	}
	if len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0].Hard != 1048576 {
		t.Errorf("rlimits = %+v", s.Process.Rlimits)
	}
	if s.Linux.Resources.Devices[0].Allow || len(s.Linux.Resources.Devices) < 10 {
		t.Errorf("device rules = %+v", s.Linux.Resources.Devices)
	}
	if s.Linux.Resources.Memory != nil || s.Linux.Resources.Pids != nil {
		t.Errorf("unexpected limits")
	}
	if SeccompEnabled && s.Linux.Seccomp == nil {
		t.Errorf("default seccomp profile missing")
	}
}

func TestSpecOptions(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		check func(*testing.T, *specs.Spec)
	}{
		{"tty adds TERM and keeps user env", func(c *Config) {
			c.Tty = true
			c.Env = []string{"PATH=/x", "HOME=/h", "HOSTNAME=mine"}
		}, func(t *testing.T, s *specs.Spec) {
			want := []string{"PATH=/x", "HOSTNAME=mine", "HOME=/h", "TERM=xterm"}
			if !slices.Equal(s.Process.Env, want) {
				t.Errorf("env = %q, want %q", s.Process.Env, want)
			}
			if !s.Process.Terminal {
				t.Error("terminal not set")
			}
		}},
		{"host network shares net and uts", func(c *Config) { c.NetworkMode = "host" }, func(t *testing.T, s *specs.Spec) {
			if _, ok := hasNS(s, specs.NetworkNamespace); ok {
				t.Error("net namespace present")
			}
			if _, ok := hasNS(s, specs.UTSNamespace); ok {
				t.Error("uts namespace present")
			}
			if s.Hostname != "" {
				t.Error("hostname set without uts namespace")
			}
		}},
		{"netns path is joined", func(c *Config) { c.NetworkMode = "/run/berth/netns/x" }, func(t *testing.T, s *specs.Spec) {
			ns, _ := hasNS(s, specs.NetworkNamespace)
			if ns.Path != "/run/berth/netns/x" {
				t.Errorf("netns = %+v", ns)
			}
		}},
		{"cap add and drop", func(c *Config) {
			c.CapAdd = []string{"net_admin", "CAP_SYS_PTRACE"}
			c.CapDrop = []string{"chown", "MKNOD"}
		}, func(t *testing.T, s *specs.Spec) {
			b := s.Process.Capabilities.Bounding
			for _, want := range []string{"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"} {
				if !slices.Contains(b, want) {
					t.Errorf("missing %s in %v", want, b)
				}
			}
			for _, no := range []string{"CAP_CHOWN", "CAP_MKNOD"} {
				if slices.Contains(b, no) {
					t.Errorf("%s not dropped", no)
				}
			}
		}},
		{"drop ALL add one", func(c *Config) {
			c.CapDrop = []string{"ALL"}
			c.CapAdd = []string{"NET_BIND_SERVICE"}
		}, func(t *testing.T, s *specs.Spec) {
			if !slices.Equal(s.Process.Capabilities.Bounding, []string{"CAP_NET_BIND_SERVICE"}) {
				t.Errorf("caps = %v", s.Process.Capabilities.Bounding)
			}
		}},
		{"add ALL is limited to host bounding set", func(c *Config) {
			c.CapAdd = []string{"ALL"}
			c.CapDrop = []string{"KILL"}
			c.Host.BoundingCaps = []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}
		}, func(t *testing.T, s *specs.Spec) {
			if !slices.Equal(s.Process.Capabilities.Bounding, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}) {
				t.Errorf("caps = %v", s.Process.Capabilities.Bounding)
			}
		}},
		{"privileged", func(c *Config) {
			c.Privileged = true
			c.Host.BoundingCaps = []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}
		}, func(t *testing.T, s *specs.Spec) {
			if !slices.Equal(s.Process.Capabilities.Bounding, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}) {
				t.Errorf("caps = %v", s.Process.Capabilities.Bounding)
			}
			if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil || s.Linux.Seccomp != nil {
				t.Error("privileged keeps masks or seccomp")
			}
			if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow {
				t.Errorf("devices = %+v", d)
			}
		}},
		{"nofile capped by host", func(c *Config) { c.Host.NofileMax = 20000 }, func(t *testing.T, s *specs.Spec) {
			if r := s.Process.Rlimits[0]; r.Hard != 20000 || r.Soft != 20000 {
				t.Errorf("rlimit = %+v", r)
			}
		}},
		{"memory and swap default", func(c *Config) { c.Resources.Memory = 64 << 20 }, func(t *testing.T, s *specs.Spec) {
			m := s.Linux.Resources.Memory
			if *m.Limit != 64<<20 || *m.Swap != 128<<20 {
				t.Errorf("memory = %d swap = %d", *m.Limit, *m.Swap)
			}
		}},
		{"no swap accounting drops swap", func(c *Config) {
			c.Resources.Memory = 64 << 20
			c.Host.NoSwapLimit = true
		}, func(t *testing.T, s *specs.Spec) {
			if s.Linux.Resources.Memory.Swap != nil {
				t.Error("swap set")
			}
		}},
		{"nano cpus", func(c *Config) { c.Resources.NanoCPUs = 1_500_000_000 }, func(t *testing.T, s *specs.Spec) {
			cpu := s.Linux.Resources.CPU
			if *cpu.Period != 100000 || *cpu.Quota != 150000 {
				t.Errorf("cpu = %d/%d", *cpu.Quota, *cpu.Period)
			}
		}},
		{"pids", func(c *Config) { c.Resources.PidsLimit = 10 }, func(t *testing.T, s *specs.Spec) {
			if *s.Linux.Resources.Pids.Limit != 10 {
				t.Error("pids limit")
			}
		}},
		{"pids unlimited", func(c *Config) { c.Resources.PidsLimit = -1 }, func(t *testing.T, s *specs.Spec) {
			if s.Linux.Resources.Pids != nil {
				t.Error("pids limit set")
			}
		}},
		{"user mount overrides default", func(c *Config) {
			c.Mounts = []Mount{{Source: "/host/shm", Destination: "/dev/shm", Options: []string{"rbind"}}}
		}, func(t *testing.T, s *specs.Spec) {
			n := 0
			for _, m := range s.Mounts {
				if m.Destination == "/dev/shm" {
					n++
					if m.Type != "bind" {
						t.Errorf("type = %q", m.Type)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d /dev/shm mounts", n)
			}
		}},
		{"cgroup parent", func(c *Config) { c.CgroupParent = "tenants/a/" }, func(t *testing.T, s *specs.Spec) {
			if s.Linux.CgroupsPath != "tenants/a/c1" {
				t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
			}
		}},
		{"unconfined", func(c *Config) { c.SeccompProfile = "unconfined" }, func(t *testing.T, s *specs.Spec) {
			if s.Linux.Seccomp != nil {
				t.Error("seccomp set")
			}
		}},
		{"labels and sysctls", func(c *Config) {
			c.Labels = map[string]string{"a": "b"}
			c.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
		}, func(t *testing.T, s *specs.Spec) {
			if s.Annotations["a"] != "b" || s.Linux.Sysctl["net.ipv4.ip_forward"] != "1" {
				t.Error("labels or sysctls lost")
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

func TestSpecInvalid(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no args", func(c *Config) { c.Args = nil }, "no command specified"},
		{"relative cwd", func(c *Config) { c.Cwd = "x" }, "needs to be an absolute path"},
		{"absolute cgroup parent", func(c *Config) { c.CgroupParent = "/sys/fs/cgroup" }, "must be relative"},
		{"escaping cgroup parent", func(c *Config) { c.CgroupParent = "a/../../b" }, "escapes"},
		{"dotdot cgroup parent", func(c *Config) { c.CgroupParent = ".." }, "escapes"},
		{"tiny memory", func(c *Config) { c.Resources.Memory = 1 << 20 }, "Minimum memory limit allowed is 6MB"},
		{"swap below memory", func(c *Config) { c.Resources.Memory = 64 << 20; c.Resources.MemorySwap = 32 << 20 }, "Minimum memoryswap limit should be larger than memory limit"},
		{"swap without memory", func(c *Config) { c.Resources.MemorySwap = 64 << 20 }, "You should always set the Memory limit when using Memoryswap limit"},
		{"tiny reservation", func(c *Config) { c.Resources.MemoryReservation = 1 }, "Minimum memory reservation allowed is 6MB"},
		{"nano and period", func(c *Config) { c.Resources.NanoCPUs = 1e9; c.Resources.CPUPeriod = 50000 }, "Nano CPUs and CPU Period cannot both be set"},
		{"too many cpus", func(c *Config) { c.Resources.NanoCPUs = 3e9; c.Host.NCPU = 2 }, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{"bad period", func(c *Config) { c.Resources.CPUPeriod = 10 }, "CPU cfs period can not be less than 1ms"},
		{"bad quota", func(c *Config) { c.Resources.CPUQuota = 10 }, "CPU cfs quota can not be less than 1ms"},
		{"unknown cap", func(c *Config) { c.CapAdd = []string{"FLY"} }, `unknown capability: "CAP_FLY"`},
		{"net sysctl on host net", func(c *Config) { c.NetworkMode = "host"; c.Sysctls = map[string]string{"net.core.somaxconn": "1"} }, "not allowed in host network namespace"},
		{"bad seccomp json", func(c *Config) { c.SeccompProfile = "{" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			_, err := Spec(cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !errdefs.IsInvalidParameter(err) {
				t.Errorf("class = %v, err = %v", errdefs.ClassOf(err), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkSpec(b *testing.B) {
	cfg := baseConfig()
	for b.Loop() {
		if _, err := Spec(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
