package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

// parseRun parses args as `run` would and returns the create body.
func parseRun(t *testing.T, args ...string) (*containerConfig, error) {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	o := &containerOptions{}
	addContainerFlags(fs, o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	rest := fs.Args()
	o.image, o.args = rest[0], rest[1:]
	return parseContainerOptions(fs, o)
}

func TestParseContainerOptions(t *testing.T) {
	pidsLimit := int64(64)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c *containerConfig)
	}{
		{"defaults", []string{"busybox"}, func(t *testing.T, c *containerConfig) {
			if c.Config.Image != "busybox" || c.Config.Cmd != nil || c.Config.Entrypoint != nil {
				t.Errorf("config %+v", c.Config)
			}
			if c.HostConfig.NetworkMode != "default" || c.HostConfig.RestartPolicy.Name != "no" {
				t.Errorf("hostconfig %+v", c.HostConfig)
			}
			if !c.Config.AttachStdout || !c.Config.AttachStderr || c.Config.AttachStdin {
				t.Errorf("attach defaults wrong")
			}
		}},
		{"memory and cpus", []string{"-m", "512m", "--memory-swap", "1g", "--memory-reservation", "256m", "--cpus", "1.5", "-c", "512", "--pids-limit", "64", "busybox"},
			func(t *testing.T, c *containerConfig) {
				r := c.HostConfig.Resources
				if r.Memory != 512<<20 || r.MemorySwap != 1<<30 || r.MemoryReservation != 256<<20 || r.NanoCPUs != 1500000000 || r.CPUShares != 512 {
					t.Errorf("resources %+v", r)
				}
				if !reflect.DeepEqual(r.PidsLimit, &pidsLimit) {
					t.Errorf("pids limit %v", r.PidsLimit)
				}
			}},
		{"unlimited swap", []string{"--memory-swap", "-1", "busybox"}, func(t *testing.T, c *containerConfig) {
			if c.HostConfig.MemorySwap != -1 {
				t.Errorf("swap %d", c.HostConfig.MemorySwap)
			}
		}},
		{"cpu quota", []string{"--cpu-quota", "50000", "--cpu-period", "100000", "busybox"}, func(t *testing.T, c *containerConfig) {
			if c.HostConfig.CPUQuota != 50000 || c.HostConfig.CPUPeriod != 100000 {
				t.Errorf("quota %+v", c.HostConfig.Resources)
			}
		}},
		{"command and entrypoint", []string{"--entrypoint", "/bin/sh", "-w", "/tmp", "-u", "1000:1000", "-h", "box", "busybox", "-c", "echo hi"},
			func(t *testing.T, c *containerConfig) {
				if !reflect.DeepEqual(c.Config.Entrypoint, []string{"/bin/sh"}) || !reflect.DeepEqual(c.Config.Cmd, []string{"-c", "echo hi"}) {
					t.Errorf("entrypoint %q cmd %q", c.Config.Entrypoint, c.Config.Cmd)
				}
				if c.Config.WorkingDir != "/tmp" || c.Config.User != "1000:1000" || c.Config.Hostname != "box" {
					t.Errorf("config %+v", c.Config)
				}
			}},
		{"empty entrypoint resets", []string{"--entrypoint", "", "busybox"}, func(t *testing.T, c *containerConfig) {
			if !reflect.DeepEqual(c.Config.Entrypoint, []string{""}) {
				t.Errorf("entrypoint %q", c.Config.Entrypoint)
			}
		}},
		{"labels", []string{"-l", "a=1", "--label", "b", "-l", "c=x=y", "busybox"}, func(t *testing.T, c *containerConfig) {
			want := map[string]string{"a": "1", "b": "", "c": "x=y"}
			if !reflect.DeepEqual(c.Config.Labels, want) {
				t.Errorf("labels %v", c.Config.Labels)
			}
		}},
		{"restart on-failure", []string{"--restart", "on-failure:3", "busybox"}, func(t *testing.T, c *containerConfig) {
			if c.HostConfig.RestartPolicy != (container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}) {
				t.Errorf("restart %+v", c.HostConfig.RestartPolicy)
			}
		}},
		{"security and caps", []string{"--privileged", "--read-only", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--sysctl", "net.ipv4.ip_forward=1", "--init", "--cgroup-parent", "mygroup", "busybox"},
			func(t *testing.T, c *containerConfig) {
				h := c.HostConfig
				if !h.Privileged || !h.ReadonlyRootfs || !reflect.DeepEqual(h.CapAdd, []string{"NET_ADMIN"}) || !reflect.DeepEqual(h.CapDrop, []string{"ALL"}) {
					t.Errorf("hostconfig %+v", h)
				}
				if !reflect.DeepEqual(h.SecurityOpt, []string{"no-new-privileges"}) || h.Sysctls["net.ipv4.ip_forward"] != "1" || h.Init == nil || !*h.Init || h.CgroupParent != "mygroup" {
					t.Errorf("hostconfig %+v", h)
				}
			}},
		{"network and stop", []string{"--net", "host", "--stop-signal", "SIGINT", "--stop-timeout", "3", "--log-driver", "none", "--log-opt", "max-size=1m", "busybox"},
			func(t *testing.T, c *containerConfig) {
				if c.HostConfig.NetworkMode != "host" || c.Config.StopSignal != "SIGINT" || c.Config.StopTimeout == nil || *c.Config.StopTimeout != 3 {
					t.Errorf("config %+v host %+v", c.Config, c.HostConfig)
				}
				if c.HostConfig.LogConfig.Type != "none" || c.HostConfig.LogConfig.Config["max-size"] != "1m" {
					t.Errorf("log %+v", c.HostConfig.LogConfig)
				}
			}},
		{"ports", []string{"-p", "8080:80", "-p", "127.0.0.1:5353:53/udp", "-p", "9000", "--expose", "7000-7001", "busybox"},
			func(t *testing.T, c *containerConfig) {
				p80 := network.MustParsePort("80/tcp")
				p53 := network.MustParsePort("53/udp")
				p9000 := network.MustParsePort("9000/tcp")
				b := c.HostConfig.PortBindings
				if len(b[p80]) != 1 || b[p80][0].HostPort != "8080" || b[p80][0].HostIP.IsValid() {
					t.Errorf("80: %+v", b[p80])
				}
				if len(b[p53]) != 1 || b[p53][0].HostPort != "5353" || b[p53][0].HostIP.String() != "127.0.0.1" {
					t.Errorf("53: %+v", b[p53])
				}
				if len(b[p9000]) != 1 || b[p9000][0].HostPort != "" {
					t.Errorf("9000: %+v", b[p9000])
				}
				if len(c.Config.ExposedPorts) != 5 {
					t.Errorf("exposed %v", c.Config.ExposedPorts)
				}
			}},
		{"interactive tty", []string{"-it", "busybox"}, func(t *testing.T, c *containerConfig) {
			if !c.Config.Tty || !c.Config.OpenStdin || !c.Config.AttachStdin || !c.Config.StdinOnce {
				t.Errorf("config %+v", c.Config)
			}
		}},
		{"attach only stderr", []string{"-a", "STDERR", "busybox"}, func(t *testing.T, c *containerConfig) {
			if c.Config.AttachStdout || !c.Config.AttachStderr || c.Config.AttachStdin {
				t.Errorf("config %+v", c.Config)
			}
		}},
		{"volumes", []string{"-v", "/host:/ctr:ro", "-v", "/anon", "--tmpfs", "/run:size=1m", "busybox"}, func(t *testing.T, c *containerConfig) {
			if !reflect.DeepEqual(c.HostConfig.Binds, []string{"/host:/ctr:ro"}) || len(c.Config.Volumes) != 1 || c.HostConfig.Tmpfs["/run"] != "size=1m" {
				t.Errorf("binds %v vols %v tmpfs %v", c.HostConfig.Binds, c.Config.Volumes, c.HostConfig.Tmpfs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseRun(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseContainerOptionsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--cpus", "0.0000000001", "busybox"}, "value is too precise"},
		{[]string{"--cpus", "lots", "busybox"}, "failed to parse lots as a rational number"},
		{[]string{"-m", "12q", "busybox"}, "invalid suffix: 'q'"},
		{[]string{"--restart", "on-failure:x", "busybox"}, "maximum retry count must be an integer"},
		{[]string{"--restart", "always:3", "busybox"}, "maximum retry count cannot be used with restart policy 'always'"},
		{[]string{"--rm", "--restart", "always", "busybox"}, "conflicting options: cannot specify both --restart and --rm"},
		{[]string{"-a", "stdfoo", "busybox"}, "valid streams are STDIN, STDOUT and STDERR"},
		{[]string{"--sysctl", "noequals", "busybox"}, "invalid sysctl format 'noequals'"},
		{[]string{"-m", "1g", "--memory-swap", "512m", "busybox"}, "minimum memoryswap limit should be larger than memory limit"},
		{[]string{"--cpus", "1", "--cpu-quota", "100", "busybox"}, "Nano CPUs and CPU Period/Quota cannot both be set"},
		{[]string{"--env-file", "/nonexistent/env", "busybox"}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseRun(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEnvAndEnvFile(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	content := "# comment\n\n  SPACED=yes\nPLAIN=1\nEMPTY=\nWITH_EQ=a=b\nFROM_HOST\nMISSING_FROM_HOST\nTRAIL=val  \n"
	if err := os.WriteFile(envFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FROM_HOST", "hostval")
	t.Setenv("CLI_HOST", "clival")
	c, err := parseRun(t, "--env-file", envFile, "-e", "X=1", "-e", "CLI_HOST", "-e", "NOT_SET_ANYWHERE", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SPACED=yes", "PLAIN=1", "EMPTY=", "WITH_EQ=a=b", "FROM_HOST=hostval", "TRAIL=val  ", "X=1", "CLI_HOST=clival", "NOT_SET_ANYWHERE"}
	if !reflect.DeepEqual(c.Config.Env, want) {
		t.Errorf("env =\n%q\nwant\n%q", c.Config.Env, want)
	}
}

func TestKVFileErrors(t *testing.T) {
	tests := map[string]string{
		"BAD KEY=1\n": "variable 'BAD KEY' contains whitespaces",
		"=value\n":    "no variable name on line '=value'",
		"K=\xff\n":    "invalid utf8 bytes at line 1",
	}
	for data, want := range tests {
		_, err := parseKVData("f", []byte(data), os.LookupEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", data, err, want)
		}
	}
}

func TestLabelFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(f, []byte("# c\na=1\nbare\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := parseRun(t, "--label-file", f, "-l", "a=2", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "2", "bare": ""}; !reflect.DeepEqual(c.Config.Labels, want) {
		t.Errorf("labels %v", c.Config.Labels)
	}
}

func TestRestartPolicies(t *testing.T) {
	tests := map[string]container.RestartPolicy{
		"":               {},
		"no":             {Name: "no"},
		"always":         {Name: "always"},
		"unless-stopped": {Name: "unless-stopped"},
		"on-failure":     {Name: "on-failure"},
		"on-failure:5":   {Name: "on-failure", MaximumRetryCount: 5},
	}
	for in, want := range tests {
		got, err := parseRestartPolicy(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v", in, got, err)
		}
	}
}

func TestNanoCPUs(t *testing.T) {
	tests := map[string]int64{"1": 1e9, "0.5": 5e8, "2.25": 2250000000, "0.000000001": 1}
	for in, want := range tests {
		got, err := parseNanoCPUs(in)
		if err != nil || got != want {
			t.Errorf("%q: got %d, %v", in, got, err)
		}
	}
}
