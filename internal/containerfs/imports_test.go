package containerfs

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportArrows keeps containerfs below the services (as
// internal/archtest does for the packages it lists): it may use storage,
// safepath and archive, never the daemon, the API or the stores above it.
func TestImportArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "berth/internal/containerfs").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	banned := []string{"berth/internal/api", "berth/internal/cli", "berth/internal/daemon", "berth/internal/image",
		"berth/internal/container", "berth/internal/runtime", "berth/internal/shim"}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("containerfs depends on %s", dep)
			}
		}
	}
}
