package runtime

import (
	"errors"
	"slices"
	"testing"

	"berth/internal/errdefs"
)

func TestExecEnv(t *testing.T) {
	tests := []struct {
		name               string
		container, execEnv []string
		hostname           string
		user               User
		want               []string
	}{
		{"defaults", nil, nil, "", User{}, []string{defaultPath, "HOME=/"}},
		{"exec overrides container", []string{"A=1", "B=2"}, []string{"A=3"}, "box", User{Home: "/root"},
			[]string{defaultPath, "HOSTNAME=box", "A=3", "B=2", "HOME=/root"}},
		{"exec sets home and path", nil, []string{"HOME=/x", "PATH=/bin"}, "", User{Home: "/root"},
			[]string{"PATH=/bin", "HOME=/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExecEnv(tt.container, tt.hostname, tt.user, tt.execEnv); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		msg   string
		code  int
		param bool
	}{
		{`exec: "nosuch": executable file not found in $PATH`, 127, true},
		{`exec: "/x": stat /x: no such file or directory`, 127, true},
		{`exec: "/etc": permission denied`, 126, true},
		{`cgroup gone`, 126, false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			err := classifyExecErr(errors.New("unable to start container process: " + tt.msg))
			if got := ExecExitCode(err); got != tt.code {
				t.Fatalf("exit code %d, want %d", got, tt.code)
			}
			if errdefs.IsInvalidParameter(err) != tt.param {
				t.Fatalf("class of %v", err)
			}
			want := "OCI runtime exec failed: exec failed: unable to start container process: " + tt.msg + ": unknown"
			if err.Error() != want {
				t.Fatalf("message %q", err)
			}
		})
	}
}
