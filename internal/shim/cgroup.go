package shim

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// oomKilled reports whether the kernel OOM-killed anything in the
// container's memory cgroup. It must run before the cgroup is destroyed.
func (s *server) oomKilled() bool {
	if p, ok := s.cgroups["memory"]; ok {
		// cgroup v1: memory.oom_control carries "oom_kill N" since 4.13.
		if n, ok := readKey(filepath.Join(p, "memory.oom_control"), "oom_kill"); ok {
			return n > 0
		}
	}
	if p, ok := s.cgroups[""]; ok {
		if n, ok := readKey(filepath.Join(p, "memory.events"), "oom_kill"); ok {
			return n > 0
		}
	}
	return false
}

// readKey reads "key value" lines from a cgroup file.
func readKey(file, key string) (int64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// removeCgroupParents removes the now-empty parent directories of the
// container's cgroup that libcontainer created and leaves behind after
// Destroy. It stops at the shim's own cgroup; a parent still used by other
// containers fails with EBUSY and stays.
func (s *server) removeCgroupParents() {
	depth := strings.Count(filepath.Clean(s.cgroupRel), "/")
	seen := map[string]bool{}
	for _, p := range s.cgroups {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		dir := p
		for i := 0; i < depth; i++ {
			dir = filepath.Dir(dir)
			if err := syscall.Rmdir(dir); err != nil {
				break
			}
		}
	}
}
