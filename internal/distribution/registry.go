package distribution

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	apiregistry "github.com/moby/moby/api/types/registry"

	"berth/internal/errdefs"
)

// DefaultCertsDir holds per-registry CA certificates: <dir>/<host:port>/ca.crt.
const DefaultCertsDir = "/etc/berth/certs.d"

// Docker Hub's names: references say docker.io, the API lives on
// registry-1.docker.io and credentials are filed under the v1 index URL.
const (
	hubDomain    = "docker.io"
	hubRegistry  = "registry-1.docker.io"
	HubIndexAddr = "https://index.docker.io/v1/"
)

// Config is how the daemon reaches registries.
type Config struct {
	// Mirrors are tried, in order, for Docker Hub images before Hub itself
	// ("https://mirror.example" or "http://127.0.0.1:5001").
	Mirrors []string
	// Insecure lists registries (host[:port]) and CIDRs reached over plain
	// HTTP or TLS without verification; 127.0.0.0/8 always is.
	Insecure []string
	// CertsDir holds <host[:port]>/ca.crt files; DefaultCertsDir when "".
	CertsDir string
	// UserAgent is sent on every request.
	UserAgent string
}

// endpoint is one registry host as the daemon talks to it.
type endpoint struct {
	host     string // host[:port] as in references
	insecure bool
	mirror   bool
}

// endpoints lists where the repository of domain is fetched from: mirrors
// first for Docker Hub, then the origin.
func (s *Service) endpoints(domain string, forPush bool) []endpoint {
	var out []endpoint
	if domain == hubDomain && !forPush {
		for _, m := range s.cfg.Mirrors {
			u, err := url.Parse(m)
			if err != nil || u.Host == "" {
				continue
			}
			out = append(out, endpoint{host: u.Host, insecure: u.Scheme == "http" || s.isInsecure(u.Host), mirror: true})
		}
	}
	host := domain
	if domain == hubDomain {
		host = hubRegistry
	}
	return append(out, endpoint{host: host, insecure: s.isInsecure(host)})
}

// isInsecure follows Docker: listed hosts, listed CIDRs and loopback
// addresses given as IP literals. Names are not resolved (no DNS here).
func (s *Service) isInsecure(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	ip := net.ParseIP(h)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	for _, entry := range s.cfg.Insecure {
		if entry == host || entry == h {
			return true
		}
		if _, cidr, err := net.ParseCIDR(entry); err == nil && ip != nil && cidr.Contains(ip) {
			return true
		}
	}
	return false
}

// transportFor builds the HTTP transport for one registry host: its CA
// from the certs dir, or no verification for insecure registries. Plain
// HTTP is refused for secure registries (the library would fall back to it
// for private addresses, Docker does not).
func (s *Service) transportFor(ep endpoint) (http.RoundTripper, error) {
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	key := transportKey{ep: ep}
	if ep.insecure {
		tcfg.InsecureSkipVerify = true
	} else {
		// Read on every use, as dockerd does: a CA dropped into the certs
		// dir applies to the next pull.
		pool, fp, err := s.certPool(ep.host)
		if err != nil {
			return nil, err
		}
		tcfg.RootCAs = pool
		key.ca = fp
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if rt, ok := s.transports[key]; ok {
		return rt, nil
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tcfg,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		// Layers are compressed already; transparent gzip would hide sizes.
		DisableCompression: true,
	}
	scheme, sure := "https", true
	if ep.insecure {
		scheme, sure = probeScheme(ep.host)
	}
	rt := forceScheme{rt: base, host: ep.host, scheme: scheme}
	if sure {
		s.transports[key] = rt
	}
	return rt, nil
}

// forceScheme sends every request for host over scheme. The library picks
// the scheme from the registry's name (plain HTTP for loopback and private
// addresses); berth decides as Docker does instead: HTTPS, verified, unless
// the registry is insecure, and then HTTPS without verification if the
// registry speaks TLS, else plain HTTP.
type forceScheme struct {
	rt     http.RoundTripper
	host   string
	scheme string
}

func (f forceScheme) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == f.host && r.URL.Scheme != f.scheme {
		r = r.Clone(r.Context())
		r.URL.Scheme = f.scheme
	}
	return f.rt.RoundTrip(r)
}

// probeScheme tells whether an insecure registry speaks TLS. sure is false
// when the registry could not be reached, so the next pull probes again.
func probeScheme(host string) (scheme string, sure bool) {
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		c.Close()
		return "https", true
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return "http", true
	}
	return "http", false
}

func (s *Service) certPool(host string) (*x509.CertPool, string, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	dir := s.cfg.CertsDir
	if dir == "" {
		dir = DefaultCertsDir
	}
	// A host with a path separator could name a directory elsewhere.
	if strings.ContainsAny(host, "/\\") || host == ".." || host == "." {
		return pool, "", nil
	}
	ents, err := os.ReadDir(filepath.Join(dir, host))
	if err != nil {
		return pool, "", nil
	}
	h := sha256.New()
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".crt") {
			continue
		}
		pem, err := os.ReadFile(filepath.Join(dir, host, e.Name()))
		if err != nil {
			return nil, "", errdefs.System(err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", errdefs.InvalidParameterf("unable to parse certificate %s", filepath.Join(dir, host, e.Name()))
		}
		h.Write(pem)
	}
	return pool, hex.EncodeToString(h.Sum(nil)), nil
}

func (ep endpoint) registry() (name.Registry, error) {
	opts := []name.Option{name.WeakValidation}
	if ep.insecure {
		opts = append(opts, name.Insecure)
	}
	return name.NewRegistry(ep.host, opts...)
}

// repository names repo (a path such as "library/busybox") on ep.
func (ep endpoint) repository(path string) (name.Repository, error) {
	reg, err := ep.registry()
	if err != nil {
		return name.Repository{}, errdefs.InvalidParameter(err)
	}
	return reg.Repo(path), nil
}

// Authenticator turns the API's auth config into the library's.
func Authenticator(ac *apiregistry.AuthConfig) authn.Authenticator {
	if ac == nil || (ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" && ac.Auth == "") {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	})
}

// transportCache is keyed by endpoint and the CAs it trusts.
type transportCache struct {
	tmu        sync.Mutex
	transports map[transportKey]http.RoundTripper
}

type transportKey struct {
	ep endpoint
	ca string // digest of the certs dir's CA files for the host
}

// isNetErr reports failures to reach an endpoint at all, after which a
// mirror is skipped for the next one.
func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &ue)
}
