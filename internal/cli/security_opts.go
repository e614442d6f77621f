package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// parseSecurityOpts checks --security-opt values the way the Docker CLI
// does and replaces "seccomp=<file>" with the profile's compacted JSON,
// which is what the daemon receives.
func parseSecurityOpts(opts []string) ([]string, error) {
	out := make([]string, 0, len(opts))
	for _, opt := range opts {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			k, v, ok = strings.Cut(opt, ":")
		}
		if (!ok || v == "") && k != "no-new-privileges" {
			return nil, fmt.Errorf("Invalid --security-opt: %q", opt)
		}
		if k == "seccomp" && v != "unconfined" && v != "builtin" {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("opening seccomp profile (%s) failed: %v", v, err)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil {
				return nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %v", v, err)
			}
			opt = "seccomp=" + buf.String()
		}
		out = append(out, opt)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// validateNamespaceModes rejects --pid, --uts and --cgroupns values with
// the Docker CLI's wording before anything reaches the daemon (--ipc, as
// there, is left to the daemon).
func validateNamespaceModes(o *containerOptions) error {
	if !container.PidMode(o.pidMode).Valid() {
		return fmt.Errorf("--pid: invalid PID mode")
	}
	if !container.UTSMode(o.utsMode).Valid() {
		return fmt.Errorf("--uts: invalid UTS mode")
	}
	if !container.CgroupnsMode(o.cgroupns).Valid() {
		return fmt.Errorf("--cgroupns: invalid CGROUP mode")
	}
	if o.utsMode == "host" && o.hostname != "" {
		return fmt.Errorf("conflicting options: hostname and the UTS mode")
	}
	return nil
}
