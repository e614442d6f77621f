package cli

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

func TestCredStoreFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	// Keys berth does not know survive a save.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"psFormat":"table {{.ID}}","auths":{"other:1":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("bob:pw"))+`"}}}`), 0o600)
	cs, err := loadCredStore()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := cs.store("reg:5000", registry.AuthConfig{Username: "alice", Password: "p:w"})
	if err != nil || !plain {
		t.Fatalf("store: %v %v", plain, err)
	}
	cs, _ = loadCredStore()
	if got := cs.get("reg:5000"); got.Username != "alice" || got.Password != "p:w" {
		t.Fatalf("get = %+v", got)
	}
	if got := cs.get("other:1"); got.Username != "bob" || got.Password != "pw" {
		t.Fatalf("existing entry = %+v", got)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(b), `"psFormat"`) {
		t.Fatalf("unknown key dropped: %s", b)
	}
	if had, err := cs.erase("reg:5000"); !had || err != nil {
		t.Fatalf("erase: %v %v", had, err)
	}
	if had, _ := cs.erase("reg:5000"); had {
		t.Fatal("second erase found credentials")
	}
}

// TestCredStoreHelper drives a docker-credential-* helper through the
// store/get/erase protocol.
func TestCredStoreHelper(t *testing.T) {
	dir := t.TempDir()
	bin := t.TempDir()
	state := filepath.Join(bin, "state")
	script := `#!/bin/sh
case "$1" in
store) cat > "` + state + `" ;;
get) read server; if [ -f "` + state + `" ]; then cat "` + state + `"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f "` + state + `" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	t.Setenv("DOCKER_CONFIG", dir)
	for _, cfg := range []string{`{"credsStore":"fake"}`, `{"credHelpers":{"reg:5000":"fake"}}`} {
		os.Remove(state)
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600)
		cs, _ := loadCredStore()
		if got := cs.get("reg:5000"); got.Username != "" {
			t.Fatalf("%s: get before store = %+v", cfg, got)
		}
		if plain, err := cs.store("reg:5000", registry.AuthConfig{Username: "alice", Password: "pw"}); err != nil || plain {
			t.Fatalf("%s: store %v %v", cfg, plain, err)
		}
		var stored map[string]string
		b, _ := os.ReadFile(state)
		if json.Unmarshal(b, &stored) != nil || stored["ServerURL"] != "reg:5000" || stored["Secret"] != "pw" {
			t.Fatalf("%s: helper got %s", cfg, b)
		}
		if got := cs.get("reg:5000"); got.Username != "alice" || got.Password != "pw" {
			t.Fatalf("%s: get = %+v", cfg, got)
		}
		if had, err := cs.erase("reg:5000"); !had || err != nil {
			t.Fatalf("%s: erase %v %v", cfg, had, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); strings.Contains(string(b), "alice") {
			t.Fatalf("%s: password written to the file", cfg)
		}
	}
}

func TestServerKeys(t *testing.T) {
	for in, want := range map[string]string{
		"busybox": hubServer, "docker.io/library/busybox:1": hubServer, "127.0.0.1:5000/a/b": "127.0.0.1:5000",
		"localhost:5000/x@sha256:" + strings.Repeat("a", 64): "localhost:5000",
	} {
		if got := serverKey(in); got != want {
			t.Errorf("serverKey(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"": hubServer, "docker.io": hubServer, "https://index.docker.io/v1/": hubServer, "https://reg:5000/": "reg:5000", "reg:5000": "reg:5000"} {
		if got := loginServerKey(in); got != want {
			t.Errorf("loginServerKey(%q) = %q, want %q", in, got, want)
		}
	}
}
