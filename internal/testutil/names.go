package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"
)

// RequiresRoot skips the test unless it runs as root.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: this test needs root (mounts, cgroups, namespaces); run go test as root")
	}
}

// RequiresDocker skips the test unless the docker CLI is on PATH.
func RequiresDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("skipping: the docker CLI is not on PATH (only the client is needed; berth serves the API)")
	}
}

// UniqueName returns prefix-<random hex>, a valid container, image, volume
// or network name that no other test (or run) will pick.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	return prefix + "-" + randomHex(t, 5)
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
