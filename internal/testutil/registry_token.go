package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTokenAuth puts the registry behind a front server the test runs:
// it issues bearer tokens at /token (basic auth with opts.User and
// opts.Password, ES256 JWTs with the signing certificate in x5c) and
// proxies everything else to the registry. The front is what Host names,
// so the realm is on the registry's own host:port, as the client library
// requires for loopback realms.
func (r *Registry) startTokenAuth(t testing.TB, opts RegistryOptions, cfg *strings.Builder) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "berth test token signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(r.Dir, "token.crt")
	writePEM(t, bundle, "CERTIFICATE", der)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	fmt.Fprintf(cfg, "auth:\n  token:\n    realm: http://%s/token\n    service: berth-test\n    issuer: berth-test-issuer\n    rootcertbundle: %s\n", front, bundle)

	backend, _ := url.Parse("http://" + r.Addr)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if req.Method == http.MethodPost {
			req.ParseForm()
			u, p, ok = req.Form.Get("username"), req.Form.Get("password"), req.Form.Get("username") != ""
		}
		if !ok || u != opts.User || p != opts.Password {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"details":"incorrect username or password"}`))
			return
		}
		tok := signToken(t, key, der, u, req.URL.Query()["scope"])
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
	})
	mux.Handle("/", proxy)
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	r.Host = front
}

// signToken grants every action asked for in scopes
// ("repository:name:pull,push").
func signToken(t testing.TB, key *ecdsa.PrivateKey, certDER []byte, sub string, scopes []string) string {
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	acc := []access{}
	for _, sc := range scopes {
		for _, one := range strings.Split(sc, " ") {
			parts := strings.Split(one, ":")
			if len(parts) < 3 {
				continue
			}
			name := strings.Join(parts[1:len(parts)-1], ":")
			acc = append(acc, access{Type: parts[0], Name: name, Actions: strings.Split(parts[len(parts)-1], ",")})
		}
	}
	now := time.Now()
	hdr, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(certDER)}})
	claims, _ := json.Marshal(map[string]any{
		"iss": "berth-test-issuer", "sub": sub, "aud": "berth-test",
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprint(now.UnixNano()), "access": acc,
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	rr, ss, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig)
}
