package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDetachKeys(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	if got := detachKeys(""); got != "" {
		t.Fatalf("no config: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"detachKeys": "ctrl-x,x"}`), 0o600)
	tests := []struct{ flag, want string }{
		{"", "ctrl-x,x"},     // config.json's client-wide default
		{"ctrl-a", "ctrl-a"}, // the flag wins
	}
	for _, tt := range tests {
		if got := detachKeys(tt.flag); got != tt.want {
			t.Errorf("detachKeys(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`not json`), 0o600)
	if got := detachKeys(""); got != "" {
		t.Errorf("bad config: %q", got)
	}
}
