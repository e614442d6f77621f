package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryBinary is Debian's docker-registry (CNCF distribution 2.8).
const RegistryBinary = "/usr/bin/docker-registry"

// RegistryOptions choose what a test registry demands.
type RegistryOptions struct {
	// TLS serves HTTPS with a certificate for "localhost" and 127.0.0.1
	// signed by a CA made for this registry (Registry.CAPEM).
	TLS bool
	// User and Password turn on htpasswd basic auth.
	User, Password string
	// Token, with User and Password, puts the registry behind bearer
	// tokens from a token server the test runs (registry_token.go).
	Token bool
}

// Registry is a docker-registry process owned by one test.
type Registry struct {
	// Host is host:port as image references name it ("127.0.0.1:port", or
	// "localhost:port" for TLS, so the daemon must verify it with the CA).
	Host  string
	CAPEM []byte // the CA that signed the TLS certificate, when TLS
	Dir   string // config, storage and certificates
	Addr  string // the listen address

	cmd *exec.Cmd
}

// RequiresRegistry skips the test when docker-registry is not installed.
func RequiresRegistry(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(RegistryBinary); err != nil {
		t.Skipf("%s not installed (apt-get install docker-registry)", RegistryBinary)
	}
}

// StartRegistry starts a registry on a free loopback port with temp
// storage, waits until it answers, and stops and removes it at cleanup.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	RequiresRegistry(t)
	dir := t.TempDir()
	port := freePort(t)
	r := &Registry{Dir: dir, Addr: fmt.Sprintf("127.0.0.1:%d", port), Host: fmt.Sprintf("127.0.0.1:%d", port)}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&cfg, "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", filepath.Join(dir, "data"))
	fmt.Fprintf(&cfg, "http:\n  addr: %s\n", r.Addr)
	if opts.TLS {
		r.Host = fmt.Sprintf("localhost:%d", port)
		cert, key, ca := makeTLS(t, dir)
		r.CAPEM = ca
		fmt.Fprintf(&cfg, "  tls:\n    certificate: %s\n    key: %s\n", cert, key)
	}
	switch {
	case opts.Token:
		r.startTokenAuth(t, opts, &cfg)
	case opts.User != "":
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htp, []byte(opts.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", htp)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	r.cmd = exec.Command(RegistryBinary, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = &logBuf, &logBuf
	// Environment variables named REGISTRY_* override the file.
	r.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting registry: %v", err)
	}
	t.Cleanup(r.stop)
	if err := r.waitReady(opts.TLS); err != nil {
		t.Fatalf("registry did not come up: %v\n%s", err, logBuf.String())
	}
	return r
}

func (r *Registry) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

func (r *Registry) waitReady(useTLS bool) error {
	scheme := "http"
	c := &http.Client{Timeout: time.Second}
	if useTLS {
		scheme = "https"
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(scheme + "://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

// InstallCA writes the registry's CA where a daemon with
// --registry-certs-dir certsDir looks for it.
func (r *Registry) InstallCA(t testing.TB, certsDir string) {
	t.Helper()
	d := filepath.Join(certsDir, r.Host)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "ca.crt"), r.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// makeTLS writes a CA and a server certificate for localhost/127.0.0.1.
func makeTLS(t testing.TB, dir string) (certPath, keyPath string, caPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	return certPath, keyPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// BerthConfigDir is the client config dir (DOCKER_CONFIG) berth's CLI uses
// in this daemon's tests; login writes its credentials there.
func (d *Daemon) BerthConfigDir() string { return filepath.Join(d.base, "berth-config") }
