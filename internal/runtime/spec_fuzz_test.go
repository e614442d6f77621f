package runtime

import (
	"path"
	"strings"
	"testing"
)

// FuzzSpec checks that no cgroup parent, id or capability name makes Spec
// panic or produce a cgroup path outside the daemon's cgroup.
func FuzzSpec(f *testing.F) {
	f.Add("berth", "c1", "NET_ADMIN", "/x")
	f.Add("../..", "..", "ALL", "relative")
	f.Add("a/../../b", "x/y", "cap_chown", "/")
	f.Fuzz(func(t *testing.T, parent, id, capName, cwd string) {
		cfg := baseConfig()
		cfg.CgroupParent, cfg.ID, cfg.Cwd = parent, id, cwd
		cfg.CapAdd = []string{capName}
		s, err := Spec(cfg)
		if err != nil {
			return
		}
		p := s.Linux.CgroupsPath
		if path.IsAbs(p) || p != path.Clean(p) || p == ".." || strings.HasPrefix(p, "../") || !strings.HasSuffix(p, "/"+id) {
			t.Fatalf("cgroup path %q from parent %q id %q", p, parent, id)
		}
	})
}
