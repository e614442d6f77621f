package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadNetworkKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	data := `{"bridge": "br-test", "bip": "10.55.0.1/24", "dns": ["10.0.0.2"],
		"default-address-pools": [{"base": "10.66.0.0/16", "size": 24}]}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, keys, err := Load(path, Default())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bridge != "br-test" || cfg.Bip != "10.55.0.1/24" || len(cfg.DNS) != 1 || !keys["default-address-pools"] {
		t.Fatalf("%+v %v", cfg, keys)
	}
	if p := cfg.DefaultAddressPools; len(p) != 1 || p[0].Base != "10.66.0.0/16" || p[0].Size != 24 {
		t.Fatalf("pools %+v", p)
	}
}
