package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// hostStatus is a field of the test process's /proc/self/status.
func hostStatus(t *testing.T, field string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return ""
}

func hostNS(t *testing.T, kind string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestContainerOptions checks each run option from inside the container,
// through berth's CLI and the Docker CLI.
func TestContainerOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	hostname, _ := os.Hostname()
	initComm, _ := os.ReadFile("/proc/1/comm")
	profile := filepath.Join(t.TempDir(), "nomkdir.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ulimit", []string{"--ulimit", "nofile=1024:2048", "--ulimit", "core=0", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"}, "1024\n2048\n0"},
		{"shm-size", []string{"--shm-size", "32m", "busybox", "sh", "-c", "grep ' /dev/shm ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'"}, "size=32768k"},
		{"sysctl", []string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=123456", "busybox", "sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax"}, "1\n123456"},
		{"cap-add", []string{"--cap-add", "net_admin", "--cap-add", "CAP_SYS_PTRACE", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t00000000a80c35fb"},
		{"cap-drop ALL", []string{"--cap-drop", "ALL", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000000000000"},
		{"cap-drop ALL add one", []string{"--cap-drop", "all", "--cap-add", "CHOWN", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000000000001"},
		{"cap-drop some", []string{"--cap-drop", "chown", "--cap-drop", "CAP_NET_RAW", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t00000000a80405fa"},
		{"privileged", []string{"--privileged", "busybox", "sh", "-c", "grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; test -c /dev/kmsg && echo devices"}, "CapEff:\t" + hostStatus(t, "CapBnd") + "\nSeccomp:\t0\ndevices"},
		{"no inherited ignored signals", []string{"busybox", "grep", "SigIgn", "/proc/self/status"}, "SigIgn:\t0000000000000000"},
		{"seccomp default", []string{"busybox", "sh", "-c", "grep Seccomp: /proc/self/status"}, "Seccomp:\t2"},
		{"seccomp unconfined", []string{"--security-opt", "seccomp=unconfined", "busybox", "sh", "-c", "grep Seccomp: /proc/self/status"}, "Seccomp:\t0"},
		{"seccomp file", []string{"--security-opt", "seccomp=" + profile, "busybox", "sh", "-c", "mkdir /tmp/x 2>/dev/null || echo denied; touch /tmp/y && echo touched"}, "denied\ntouched"},
		{"no-new-privileges", []string{"--security-opt", "no-new-privileges", "busybox", "sh", "-c", "grep NoNewPrivs /proc/self/status"}, "NoNewPrivs:\t1"},
		{"no-new-privileges=true", []string{"--security-opt", "no-new-privileges=true", "busybox", "sh", "-c", "grep NoNewPrivs /proc/self/status"}, "NoNewPrivs:\t1"},
		{"read-only", []string{"--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null || echo denied; touch /dev/shm/y && echo shm"}, "denied\nshm"},
		{"device", []string{"--device", "/dev/fuse:/dev/myfuse", "busybox", "sh", "-c", "test -c /dev/myfuse && exec 3<>/dev/myfuse && echo opened"}, "opened"},
		{"no device", []string{"busybox", "sh", "-c", "test -e /dev/fuse || echo absent"}, "absent"},
		{"device read-only perms", []string{"--device", "/dev/fuse:/dev/fuse:r", "busybox", "sh", "-c", "(exec 3<>/dev/fuse) 2>/dev/null || echo denied"}, "denied"},
		{"group-add", []string{"--group-add", "1234", "--group-add", "staff", "-u", "nobody", "busybox", "id", "-G"}, "65534 50 1234"},
		{"oom-score-adj", []string{"--oom-score-adj", "500", "busybox", "cat", "/proc/self/oom_score_adj"}, "500"},
		{"oom-kill-disable", []string{"-m", "32m", "--oom-kill-disable", "busybox", "sh", "-c", "grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control"}, "oom_kill_disable 1"},
		{"cpuset-cpus", []string{"--cpuset-cpus", "0", "busybox", "sh", "-c", "cat /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/self/status"}, "0\nCpus_allowed_list:\t0"},
		{"memory-swap", []string{"-m", "32m", "--memory-swap", "64m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"}, "67108864"},
		{"memory-swap unlimited", []string{"-m", "32m", "--memory-swap", "-1", "busybox", "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"}, "9223372036854771712"},
		{"memory-reservation", []string{"--memory-reservation", "20m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes"}, "20971520"},
		{"pid host", []string{"--pid", "host", "busybox", "cat", "/proc/1/comm"}, strings.TrimSpace(string(initComm))},
		{"ipc host", []string{"--ipc", "host", "busybox", "readlink", "/proc/self/ns/ipc"}, hostNS(t, "ipc")},
		{"ipc none", []string{"--ipc", "none", "busybox", "sh", "-c", "grep -c ' /dev/shm ' /proc/self/mountinfo; true"}, "0"},
		{"uts host", []string{"--uts", "host", "busybox", "sh", "-c", "hostname; cat /etc/hostname"}, hostname + "\n" + hostname},
		{"cgroupns private", []string{"--cgroupns", "private", "busybox", "sh", "-c", fmt.Sprintf("test $(readlink /proc/self/ns/cgroup) != %s && echo own", hostNS(t, "cgroup"))}, "own"},
		{"cgroupns host default", []string{"busybox", "readlink", "/proc/self/ns/cgroup"}, hostNS(t, "cgroup")},
		{"init is pid 1", []string{"--init", "busybox", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"}, "/sbin/docker-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline"},
		{"init exit code", []string{"--init", "busybox", "sh", "-c", "echo out; exit 0"}, "out"},
	}
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := must(t, c, append([]string{"run", "--rm", "--network", "none"}, tt.args...)...)
					if got != tt.want {
						t.Fatalf("got %q, want %q", got, tt.want)
					}
				})
			}
		})
	}
	assertNoLeftovers(t, d)
}

// TestInitReapsZombies runs a PID 1 that never waits (sleep) with and
// without --init: only without it does the orphan stay a zombie.
func TestInitReapsZombies(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		for _, init := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/init=%v", c.name, init), func(t *testing.T) {
				name := testutil.UniqueName(t, "reap")
				args := []string{"run", "-d", "--name", name}
				if init {
					args = append(args, "--init")
				}
				must(t, c, append(args, "busybox", "sh", "-c", "(sleep 0.1 &); exec sleep 100")...)
				t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
				var zombies string
				waitFor(t, 5*time.Second, func() bool {
					zombies = must(t, c, "exec", name, "sh", "-c", "ps -o stat,comm | grep -c '^Z'; true")
					return zombies == "1" || init
				})
				time.Sleep(300 * time.Millisecond)
				zombies = must(t, c, "exec", name, "sh", "-c", "ps -o stat,comm | grep -c '^Z'; true")
				if want := map[bool]string{true: "0", false: "1"}[init]; zombies != want {
					t.Fatalf("%s zombies, want %s", zombies, want)
				}
				if init {
					// The init forwards the stop signal: no 10 s wait for a kill.
					start := time.Now()
					must(t, c, "stop", name)
					if el := time.Since(start); el > 5*time.Second {
						t.Fatalf("stop took %v: SIGTERM not forwarded", el)
					}
					if code := must(t, c, "inspect", "-f", "{{.State.ExitCode}}", name); code != "143" {
						t.Fatalf("exit code %s, want 143", code)
					}
				}
			})
		}
	}
}

// TestJoinNamespaces: --pid and --ipc container:<donor> share the donor's
// processes and /dev/shm; a donor that is missing, stopped or not
// shareable is refused with dockerd's wording, leaving nothing running.
func TestJoinNamespaces(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c0 := clis(t, d)[0]
	donor := testutil.UniqueName(t, "donor")
	must(t, c0, "run", "-d", "--name", donor, "--ipc", "shareable", "busybox", "sh", "-c", "echo hi > /dev/shm/marker; exec sleep 100")
	priv := testutil.UniqueName(t, "priv")
	must(t, c0, "run", "-d", "--name", priv, "busybox", "sleep", "100")
	stopped := testutil.UniqueName(t, "stopped")
	must(t, c0, "create", "--name", stopped, "busybox", "true")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", donor, priv, stopped) })
	pid := must(t, c0, "inspect", "-f", "{{.State.Pid}}", donor)
	ipcNS, err := os.Readlink("/proc/" + pid + "/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	if got := must(t, c0, "inspect", "-f", "{{.HostConfig.IpcMode}} {{.HostConfig.CgroupnsMode}}", priv); got != "private host" {
		t.Fatalf("default modes %q, want \"private host\"", got)
	}
	waitFor(t, 5*time.Second, func() bool {
		return must(t, c0, "exec", donor, "cat", "/dev/shm/marker") == "hi"
	})
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			got := must(t, c, "run", "--rm", "--pid", "container:"+donor, "--ipc", "container:"+donor, "busybox", "sh", "-c",
				"cat /proc/1/comm; cat /dev/shm/marker; readlink /proc/self/ns/ipc")
			if want := "sleep\nhi\n" + ipcNS; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			bad := []struct {
				args []string
				want string
			}{
				{[]string{"--pid", "container:nosuchbox"}, "No such container: nosuchbox"},
				{[]string{"--pid", "container:" + stopped}, "container " + stopped + " is not running"},
				{[]string{"--ipc", "container:" + priv}, "container " + priv + ": non-shareable IPC (hint: use IpcMode:shareable for the donor container)"},
				{[]string{"--pid", "bogus"}, "--pid: invalid PID mode"},
				{[]string{"--ipc", "bogus"}, "invalid IPC mode"}, // Docker's CLI leaves it to the daemon
				{[]string{"--uts", "bogus"}, "--uts: invalid UTS mode"},
				{[]string{"--uts", "host", "-h", "x"}, "conflicting options: hostname and the UTS mode"},
				{[]string{"--security-opt", "bogus=1"}, `invalid --security-opt 2: "bogus=1"`},
				{[]string{"--security-opt", "seccomp=/nonexistent.json"}, "opening seccomp profile (/nonexistent.json) failed"},
				{[]string{"--ulimit", "nofile=20:10"}, "ulimit soft limit must be less than or equal to hard limit"},
				{[]string{"--cap-add", "bogus"}, `unknown capability: "CAP_BOGUS"`},
				{[]string{"--oom-score-adj", "2000"}, "Invalid value 2000, range for oom score adj is [-1000, 1000]"},
				{[]string{"--cpuset-cpus", "7"}, "Requested CPUs are not available - requested 7"},
				{[]string{"--device", "/dev/nosuchdev"}, `error gathering device information while adding custom device "/dev/nosuchdev"`},
			}
			for _, tt := range bad {
				name := testutil.UniqueName(t, "bad")
				_, stderr, code := c.run(t, append(append([]string{"run", "--rm", "--name", name}, tt.args...), "busybox", "true")...)
				want := 125
				if strings.Contains(tt.want, "device information") {
					want = 127 // the CLI maps "no such file or directory" so
				}
				if code != want || !strings.Contains(stderr, tt.want) {
					t.Errorf("%v: exit %d, stderr %q, want %d and %q", tt.args, code, stderr, want, tt.want)
				}
				d.Berth(t, "rm", "-f", name)
			}
		})
	}
	d.Berth(t, "rm", "-f", donor, priv, stopped)
	assertNoLeftovers(t, d)
}

// TestExecKeepsOptions: an exec gets the container's extra groups,
// ulimits, capabilities and namespaces, with or without --init.
func TestExecKeepsOptions(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "execopts")
			must(t, c, "run", "-d", "--name", name, "--init", "--group-add", "1234", "--ulimit", "nofile=1000:1000",
				"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--uts", "host", "busybox", "sleep", "100")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			got := must(t, c, "exec", name, "sh", "-c", "id -G; ulimit -n; grep -E 'CapEff|NoNewPrivs' /proc/self/status; cat /proc/1/comm; hostname")
			hostname, _ := os.Hostname()
			want := "0 1234\n1000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\ndocker-init\n" + hostname
			if got != want {
				t.Fatalf("exec sees %q, want %q", got, want)
			}
		})
	}
}

// TestDaemonInitSettings: the daemon's --init makes --init the default
// (--init=false opts out) and --init-path picks the binary.
func TestDaemonInitSettings(t *testing.T) {
	testutil.RequiresRoot(t)
	script := filepath.Join(t.TempDir(), "my-init")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = -- ] && shift\necho custom-init\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := testutil.StartDaemon(t, "--init", "--init-path", script)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			if got := must(t, c, "run", "--rm", "busybox", "echo", "cmd"); got != "custom-init\ncmd" {
				t.Fatalf("default init: %q", got)
			}
			if got := must(t, c, "run", "--rm", "--init=false", "busybox", "sh", "-c", "echo $$; cat /proc/1/comm; true"); got != "1\nsh" {
				t.Fatalf("--init=false: %q", got)
			}
		})
	}
}
