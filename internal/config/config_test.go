package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/errdefs"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty file", content: "", check: func(t *testing.T, c Config) {
			if c.DataRoot != DefaultDataRoot {
				t.Fatalf("data root %q", c.DataRoot)
			}
		}},
		{name: "docker keys", content: `{"data-root":"/x","exec-root":"/y","cgroup-parent":"p","live-restore":false,"log-opts":{"max-size":"10m"}}`,
			check: func(t *testing.T, c Config) {
				if c.DataRoot != "/x" || c.ExecRoot != "/y" || c.CgroupParent != "p" || c.LiveRestoreEnabled() || c.LogOpts["max-size"] != "10m" {
					t.Fatalf("got %+v", c)
				}
			}},
		{name: "unknown key", content: `{"foo":1}`, wantErr: "the following directives don't match any configuration option: foo"},
		{name: "bad json", content: `{"data-root":`, wantErr: "unable to configure the daemon with file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "daemon.json")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c, _, err := Load(p, Default())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !errdefs.IsInvalidParameter(err) {
					t.Fatalf("err class = %v", errdefs.ClassOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestValidateCgroupParent(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"", true}, {"berth", true}, {"a/b", true}, {"/abs", false}, {"../up", false}, {"a/../../b", false}} {
		err := ValidateCgroupParent(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v", tt.in, err)
		}
	}
}
