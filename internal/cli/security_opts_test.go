package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSecurityOptsCLI(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.json")
	os.WriteFile(good, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{nope"), 0o644)
	tests := []struct {
		in   string
		want string // the value sent, or the error's start
		err  bool
	}{
		{in: "no-new-privileges", want: "no-new-privileges"},
		{in: "seccomp=unconfined", want: "seccomp=unconfined"},
		{in: "seccomp=" + good, want: `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`},
		{in: "seccomp:" + good, want: `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`},
		{in: "seccomp=" + bad, err: true, want: "compacting json for seccomp profile (" + bad + ") failed"},
		{in: "seccomp=/nonexistent", err: true, want: "opening seccomp profile (/nonexistent) failed"},
		{in: "apparmor", err: true, want: `Invalid --security-opt: "apparmor"`},
		{in: "label=", err: true, want: `Invalid --security-opt: "label="`},
	}
	for _, tt := range tests {
		got, err := parseSecurityOpts([]string{tt.in})
		if tt.err {
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.want)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q: %q %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidateNamespaceModes(t *testing.T) {
	tests := []struct {
		o    containerOptions
		want string
	}{
		{containerOptions{pidMode: "bogus"}, "--pid: invalid PID mode"},
		{containerOptions{utsMode: "bogus"}, "--uts: invalid UTS mode"},
		{containerOptions{cgroupns: "bogus"}, "--cgroupns: invalid CGROUP mode"},
		{containerOptions{utsMode: "host", hostname: "h"}, "conflicting options: hostname and the UTS mode"},
		{containerOptions{pidMode: "container:x", ipcMode: "bogus", utsMode: "host", cgroupns: "private"}, ""},
	}
	for _, tt := range tests {
		err := validateNamespaceModes(&tt.o)
		if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || err.Error() != tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
}
