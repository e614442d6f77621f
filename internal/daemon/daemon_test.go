package daemon

import (
	"strings"
	"syscall"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/container"
	"berth/internal/errdefs"
)

func TestMergeImageConfig(t *testing.T) {
	img := dockerspec.DockerOCIImageConfig{}
	img.Env = []string{"PATH=/bin", "A=1"}
	img.Cmd = []string{"sh"}
	img.Entrypoint = nil
	img.WorkingDir = "/work"
	img.User = "nobody"
	img.Labels = map[string]string{"from": "image", "x": "1"}
	tests := []struct {
		name     string
		user     apicontainer.Config
		wantArgv string
		wantEnv  string
	}{
		{"image defaults", apicontainer.Config{}, "sh", "PATH=/bin A=1"},
		{"user cmd", apicontainer.Config{Cmd: []string{"echo", "hi"}}, "echo hi", "PATH=/bin A=1"},
		{"entrypoint drops image cmd", apicontainer.Config{Entrypoint: []string{"/bin/ls"}}, "/bin/ls", "PATH=/bin A=1"},
		{"env override and add", apicontainer.Config{Env: []string{"A=2", "B=3"}}, "sh", "PATH=/bin A=2 B=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeImageConfig(&tt.user, img)
			argv := strings.Join(append(append([]string{}, got.Entrypoint...), got.Cmd...), " ")
			if argv != tt.wantArgv {
				t.Errorf("argv %q, want %q", argv, tt.wantArgv)
			}
			if env := strings.Join(got.Env, " "); env != tt.wantEnv {
				t.Errorf("env %q, want %q", env, tt.wantEnv)
			}
			if got.WorkingDir != "/work" || got.User != "nobody" || got.Labels["from"] != "image" {
				t.Errorf("defaults not inherited: %+v", got)
			}
		})
	}
}

func TestValidateHostConfig(t *testing.T) {
	mb := int64(1024 * 1024)
	tests := []struct {
		name string
		hc   apicontainer.HostConfig
		msg  string
	}{
		{"ok", apicontainer.HostConfig{}, ""},
		{"tiny memory", apicontainer.HostConfig{Resources: apicontainer.Resources{Memory: 1 * mb}}, "Minimum memory limit allowed is 6MB"},
		{"swap below memory", apicontainer.HostConfig{Resources: apicontainer.Resources{Memory: 64 * mb, MemorySwap: 32 * mb}}, "Minimum memoryswap limit should be larger than memory limit"},
		{"too many cpus", apicontainer.HostConfig{Resources: apicontainer.Resources{NanoCPUs: 1000e9}}, "Range of CPUs is from 0.01 to"},
		{"abs cgroup parent", apicontainer.HostConfig{Resources: apicontainer.Resources{CgroupParent: "/escape"}}, "must be a relative path"},
		{"bad restart", apicontainer.HostConfig{RestartPolicy: apicontainer.RestartPolicy{Name: "sometimes"}}, "invalid restart policy"},
		{"rm with restart", apicontainer.HostConfig{AutoRemove: true, RestartPolicy: apicontainer.RestartPolicy{Name: "always"}}, "can't create 'AutoRemove' container with restart policy"},
		{"bad log driver", apicontainer.HostConfig{LogConfig: apicontainer.LogConfig{Type: "syslogx"}}, "no log driver named 'syslogx'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := validateHostConfig(&tt.hc)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want %q", err, tt.msg)
			}
			if c := errdefs.ClassOf(err); c != errdefs.ClassInvalidParameter && c != errdefs.ClassNotFound {
				t.Fatalf("class %v", c)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"KILL": syscall.SIGKILL, "sigterm": syscall.SIGTERM, "9": 9, "SIGUSR1": syscall.SIGUSR1, "": 0} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"BOGUS", "0", "99", "-1"} {
		if _, err := ParseSignal(bad); !errdefs.IsInvalidParameter(err) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStatusString(t *testing.T) {
	now := time.Now()
	tests := []struct {
		st   container.State
		want string
	}{
		{container.State{Status: container.StatusCreated}, "Created"},
		{container.State{Status: container.StatusRunning, StartedAt: now.Add(-5 * time.Second)}, "Up 5 seconds"},
		{container.State{Status: container.StatusExited, ExitCode: 7, FinishedAt: now.Add(-3 * time.Minute)}, "Exited (7) 3 minutes ago"},
		{container.State{Status: container.StatusRunning, StartedAt: now}, "Up Less than a second"},
	}
	for _, tt := range tests {
		if got := statusString(tt.st, now); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.st, got, tt.want)
		}
	}
}

func TestExitCodeFor(t *testing.T) {
	for msg, want := range map[string]int{
		`exec: "nosuch": executable file not found in $PATH`: 127,
		`exec: "/etc/passwd": permission denied`:             126,
		"something else":                                     128,
	} {
		if got := exitCodeFor(msg); got != want {
			t.Errorf("%q: %d want %d", msg, got, want)
		}
	}
}
