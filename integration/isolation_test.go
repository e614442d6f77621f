package integration

import (
	"strings"
	"testing"

	"berth/internal/testutil"
)

func TestIsolationAndDefaults(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return must(t, c, append([]string{"run", "--rm"}, args...)...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"pid namespace", []string{"busybox", "sh", "-c", "echo $$"}, "1"},
		{"hostname flag", []string{"--hostname", "boxy", "busybox", "hostname"}, "boxy"},
		{"etc hostname", []string{"-h", "boxy", "busybox", "cat", "/etc/hostname"}, "boxy"},
		{"user by name", []string{"-u", "nobody", "busybox", "id", "-u"}, "65534"},
		{"user uid:gid", []string{"-u", "1000:50", "busybox", "sh", "-c", "id -u; id -g"}, "1000\n50"},
		{"supplementary groups", []string{"-u", "berthuser", "busybox", "id", "-G"}, "1000 50"},
		{"workdir", []string{"-w", "/tmp/made", "busybox", "pwd"}, "/tmp/made"},
		{"env", []string{"-e", "A=1", "busybox", "sh", "-c", "echo $A $HOME $PATH"}, "1 /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"home of user", []string{"-u", "berthuser", "busybox", "sh", "-c", "echo $HOME"}, "/home/berthuser"},
		{"entrypoint", []string{"--entrypoint", "echo", "busybox", "via", "entrypoint"}, "via entrypoint"},
		{"default caps", []string{"busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t00000000a80425fb"},
		{"timer_list masked", []string{"busybox", "sh", "-c", "wc -c < /proc/timer_list"}, "0"},
		{"sys read-only", []string{"busybox", "sh", "-c", "touch /sys/x 2>/dev/null || echo denied"}, "denied"},
		{"proc sys read-only", []string{"busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo denied"}, "denied"},
		{"no network", []string{"--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"}, "lo"},
		{"dev nodes", []string{"busybox", "sh", "-c", "ls /dev/null /dev/zero /dev/urandom /dev/shm /dev/pts /dev/mqueue >/dev/null && echo ok"}, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(t, tt.args...); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("memory limit OOM", func(t *testing.T) {
		name := testutil.UniqueName(t, "oom")
		_, _, code := c.run(t, "run", "--name", name, "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c", "tail /dev/zero")
		if code != 137 {
			t.Fatalf("exit %d, want 137", code)
		}
		if got := must(t, c, "inspect", "-f", "{{.State.OOMKilled}}", name); got != "true" {
			t.Fatalf("OOMKilled %s", got)
		}
		must(t, c, "rm", name)
	})
	t.Run("pids limit enforced", func(t *testing.T) {
		_, stderr, code := c.run(t, "run", "--rm", "--pids-limit", "3", "busybox", "sh", "-c", "sleep 3 & sleep 3 & sleep 3 & sleep 3 & wait")
		if code == 0 || !strings.Contains(stderr, "fork") {
			t.Fatalf("exit %d stderr %q: a 4th process must not start", code, stderr)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, stderr, code := c.run(t, "run", "--rm", "-u", "nosuchuser", "busybox", "true")
		if code == 0 || !strings.Contains(stderr, "unable to find user nosuchuser") {
			t.Fatalf("exit %d stderr %q", code, stderr)
		}
	})
}
