package container

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
)

// Word lists for generated names, in Docker's "adjective_noun" shape. The
// nouns are berth's own: places and things of harbours.
var (
	adjectives = []string{"amber", "bold", "brave", "calm", "clever", "cosy", "crisp", "daring",
		"eager", "fair", "fond", "gentle", "glad", "happy", "hardy", "keen", "kind", "lively",
		"loyal", "lucid", "merry", "modest", "nimble", "noble", "patient", "plucky", "proud",
		"quick", "quiet", "rapid", "ready", "serene", "sharp", "shy", "sleek", "snug", "steady",
		"stoic", "sunny", "swift", "tidy", "trusty", "vivid", "warm", "wise", "witty", "zesty"}
	nouns = []string{"anchor", "bay", "beacon", "bollard", "bow", "buoy", "cabin", "cargo",
		"channel", "cleat", "compass", "cove", "crane", "deck", "dinghy", "dock", "ferry",
		"galley", "gangway", "harbor", "hawser", "helm", "hull", "jetty", "keel", "lagoon",
		"lantern", "lighthouse", "marina", "mast", "mooring", "oar", "pier", "pilot", "port",
		"quay", "rudder", "sail", "schooner", "skiff", "slip", "stern", "tide", "tug", "wharf"}
)

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

// GenerateName returns an unused "/adjective_noun" name, adding a digit on
// collisions like Docker does.
func (s *Store) GenerateName() string {
	for i := 0; ; i++ {
		name := "/" + pick(adjectives) + "_" + pick(nouns)
		if i > 10 {
			n, _ := rand.Int(rand.Reader, big.NewInt(100))
			name += n.String()
		}
		if _, taken := s.NameTaken(name); !taken {
			return name
		}
	}
}

// NewID returns a 64-hex-digit container ID.
func NewID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
