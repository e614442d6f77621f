package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"

	"berth/internal/atomicfile"
)

// hubServer is the key Docker files Docker Hub credentials under.
const hubServer = "https://index.docker.io/v1/"

// credStore is the client's Docker-compatible config file
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json): credentials in
// "auths" (base64 user:password), or in a credential helper named by
// "credsStore" or per registry in "credHelpers". Keys this CLI does not
// know are kept as they are.
type credStore struct {
	path string
	raw  map[string]json.RawMessage
}

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

func configDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".docker")
}

func loadCredStore() (*credStore, error) {
	cs := &credStore{path: filepath.Join(configDir(), "config.json"), raw: map[string]json.RawMessage{}}
	b, err := os.ReadFile(cs.path)
	if os.IsNotExist(err) {
		return cs, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &cs.raw); err != nil {
			return nil, fmt.Errorf("loading config file %s: %w", cs.path, err)
		}
	}
	return cs, nil
}

func (cs *credStore) auths() map[string]authEntry {
	m := map[string]authEntry{}
	if r, ok := cs.raw["auths"]; ok {
		_ = json.Unmarshal(r, &m)
	}
	return m
}

// helper names the credential helper for server, "" for the file itself.
func (cs *credStore) helper(server string) string {
	var helpers map[string]string
	if r, ok := cs.raw["credHelpers"]; ok {
		_ = json.Unmarshal(r, &helpers)
	}
	if h := helpers[server]; h != "" {
		return h
	}
	var store string
	if r, ok := cs.raw["credsStore"]; ok {
		_ = json.Unmarshal(r, &store)
	}
	return store
}

func runHelper(helper, action string, input []byte) ([]byte, error) {
	cmd := exec.Command("docker-credential-"+helper, action)
	cmd.Stdin = bytes.NewReader(input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String() + errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("error getting credentials - err: %v, out: `%s`", err, msg)
	}
	return out.Bytes(), nil
}

// get returns the stored credentials for server, empty when none.
func (cs *credStore) get(server string) registry.AuthConfig {
	ac := registry.AuthConfig{ServerAddress: server}
	if h := cs.helper(server); h != "" {
		out, err := runHelper(h, "get", []byte(server))
		if err != nil {
			return ac
		}
		var c struct{ Username, Secret string }
		if json.Unmarshal(out, &c) == nil {
			if c.Username == "<token>" {
				ac.IdentityToken = c.Secret
			} else {
				ac.Username, ac.Password = c.Username, c.Secret
			}
		}
		return ac
	}
	e, ok := cs.auths()[server]
	if !ok {
		return ac
	}
	if dec, err := base64.StdEncoding.DecodeString(e.Auth); err == nil {
		ac.Username, ac.Password, _ = strings.Cut(string(dec), ":")
	}
	ac.IdentityToken = e.IdentityToken
	return ac
}

// store saves ac for server; it reports whether it went into the file in
// the clear (Docker warns then).
func (cs *credStore) store(server string, ac registry.AuthConfig) (plain bool, err error) {
	if h := cs.helper(server); h != "" {
		user, secret := ac.Username, ac.Password
		if ac.IdentityToken != "" {
			user, secret = "<token>", ac.IdentityToken
		}
		in, _ := json.Marshal(map[string]string{"ServerURL": server, "Username": user, "Secret": secret})
		_, err := runHelper(h, "store", in)
		return false, err
	}
	auths := cs.auths()
	e := authEntry{IdentityToken: ac.IdentityToken}
	if ac.IdentityToken == "" {
		e.Auth = base64.StdEncoding.EncodeToString([]byte(ac.Username + ":" + ac.Password))
	}
	auths[server] = e
	return true, cs.saveAuths(auths)
}

// erase removes server's credentials; it reports whether there were any.
func (cs *credStore) erase(server string) (bool, error) {
	if h := cs.helper(server); h != "" {
		_, err := runHelper(h, "erase", []byte(server))
		return err == nil, err
	}
	auths := cs.auths()
	if _, ok := auths[server]; !ok {
		return false, nil
	}
	delete(auths, server)
	return true, cs.saveAuths(auths)
}

func (cs *credStore) saveAuths(auths map[string]authEntry) error {
	b, err := json.Marshal(auths)
	if err != nil {
		return err
	}
	cs.raw["auths"] = b
	out, err := json.MarshalIndent(cs.raw, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cs.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(cs.path, out, 0o600)
}

// serverKey is the config key of the registry image ref lives on.
func serverKey(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return hubServer
	}
	return loginServerKey(reference.Domain(named))
}

// loginServerKey maps a login argument to its config key.
func loginServerKey(server string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	switch s {
	case "", "docker.io", "index.docker.io", "index.docker.io/v1", "registry-1.docker.io":
		return hubServer
	}
	return s
}

// encodeAuth is the X-Registry-Auth header value for ac.
func encodeAuth(ac registry.AuthConfig) string {
	b, _ := json.Marshal(ac)
	return base64.URLEncoding.EncodeToString(b)
}

// registryAuthFor is the X-Registry-Auth header for pulling or pushing
// ref: the stored credentials of its registry, or "" for none.
func registryAuthFor(ref string) string {
	cs, err := loadCredStore()
	if err != nil {
		return ""
	}
	ac := cs.get(serverKey(ref))
	if ac.Username == "" && ac.IdentityToken == "" {
		return ""
	}
	return encodeAuth(ac)
}
