package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "berth/"

// forbidden lists, per package (prefix), the berth packages it must never
// depend on, directly or not.
var forbidden = map[string][]string{
	"internal/api":       {"internal/daemon", "internal/cli", "internal/container", "internal/image", "internal/runtime", "internal/shim", "internal/storage", "internal/logger", "internal/testutil"},
	"internal/cli":       {"internal/daemon", "internal/api", "internal/container", "internal/image", "internal/runtime", "internal/shim", "internal/storage", "internal/logger", "internal/testutil"},
	"internal/daemon":    {"internal/api", "internal/cli", "internal/testutil"},
	"internal/container": {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/runtime", "internal/shim"},
	"internal/image":     {"internal/api", "internal/cli", "internal/daemon", "internal/runtime", "internal/shim", "internal/container"},
	"internal/storage":   {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/runtime", "internal/shim"},
	"internal/runtime":   {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/container", "internal/storage"},
	"internal/shim":      {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/container", "internal/storage"},
	"internal/logger":    {"internal/api", "internal/cli", "internal/daemon", "internal/shim"},
	"internal/builder":   {"internal/api", "internal/cli", "internal/daemon", "internal/container", "internal/runtime", "internal/shim", "internal/logger", "internal/testutil"},
	// network sees sandboxes, never container records, images or runtimes.
	"internal/network": {"internal/api", "internal/cli", "internal/daemon", "internal/container", "internal/image", "internal/runtime", "internal/shim", "internal/storage"},
	// Leaves depend on nothing of berth's but errdefs.
	"internal/errdefs":    {"internal/"},
	"internal/safepath":   {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/archive", "internal/storage"},
	"internal/config":     {"internal/api", "internal/cli", "internal/daemon", "internal/image", "internal/runtime", "internal/shim"},
	"internal/backend":    {"internal/"},
	"internal/atomicfile": {"internal/"},
	"cmd/berth":           {"internal/testutil"},
}

func TestImportArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "berth/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], mod) {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], mod)
		for owner, bans := range forbidden {
			if pkg != owner && !strings.HasPrefix(pkg, owner+"/") {
				continue
			}
			checked++
			for _, dep := range fields[1:] {
				if !strings.HasPrefix(dep, mod) {
					continue
				}
				d := strings.TrimPrefix(dep, mod)
				for _, ban := range bans {
					if ban == "internal/" && d == "internal/errdefs" {
						continue
					}
					if d == ban || strings.HasPrefix(d, ban) && (strings.HasSuffix(ban, "/") || strings.HasPrefix(d, ban+"/")) {
						t.Errorf("%s imports %s: the arrow points the wrong way (shared/ARCHITECTURE.md)", pkg, d)
					}
				}
			}
		}
	}
	if checked < len(forbidden)-1 {
		t.Fatalf("only %d packages checked: did the layout change?", checked)
	}
}
