package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

func TestDaemonConfigFile(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "daemon.json")
	os.WriteFile(good, []byte(`{"log-level": "debug", "log-opts": {"max-size": "1k", "max-file": "2"}}`), 0o600)
	d := testutil.StartDaemon(t, "--config-file", good)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	// log-opts from the file rotate the json log at 1 KiB.
	name := testutil.UniqueName(t, "rot")
	must(t, c, "run", "--name", name, "busybox", "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done")
	logPath := must(t, c, "inspect", "-f", "{{.LogPath}}", name)
	st, err := os.Stat(logPath)
	if err != nil || st.Size() > 2048 {
		t.Fatalf("log not rotated: %v size %d", err, st.Size())
	}
	if _, err := os.Stat(logPath + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	if out := must(t, c, "logs", "--tail", "1", name); out != "line-199-padding-padding-padding" {
		t.Fatalf("last line %q", out)
	}
	log, _ := os.ReadFile(d.LogFile)
	if !strings.Contains(string(log), "level=DEBUG") {
		t.Fatalf("log-level from the file not applied")
	}

	tests := []struct {
		name, content string
		args          []string
		want          string
	}{
		{"unknown key", `{"frobnicate": true}`, nil, "the following directives don't match any configuration option: frobnicate"},
		{"flag and file", `{"data-root": "/tmp/x"}`, []string{"--data-root", "/tmp/y"}, "the following directives are specified both as a flag and in the configuration file: data-root"},
		{"bad json", `{"data-root": `, nil, "unable to configure the daemon with file"},
		{"absolute cgroup parent", `{"cgroup-parent": "/escape"}`, nil, "must be a relative path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "daemon.json")
			os.WriteFile(p, []byte(tt.content), 0o600)
			execRoot := t.TempDir()
			args := append([]string{"daemon", "--config-file", p, "--exec-root", execRoot}, tt.args...)
			cmd := exec.Command(d.Binary, args...)
			done := make(chan struct{})
			var out []byte
			go func() { out, _ = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("daemon with a bad config did not exit")
			}
			if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), tt.want) {
				t.Fatalf("exit %d, output %q, want %q", cmd.ProcessState.ExitCode(), out, tt.want)
			}
		})
	}
}
