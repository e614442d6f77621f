package distribution

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	apiregistry "github.com/moby/moby/api/types/registry"

	"berth/internal/errdefs"
)

type authnAuth = authn.Authenticator

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// registryClient is an HTTP client for ep authorised for scopes: the
// library pings the registry and runs its basic or bearer-token flow.
func (s *Service) registryClient(ctx context.Context, ep endpoint, auth authn.Authenticator, scopes []string) (*http.Client, error) {
	reg, err := ep.registry()
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	rt, err := s.transportFor(ep)
	if err != nil {
		return nil, err
	}
	tr, err := transport.NewWithContext(ctx, reg, auth, rt, scopes)
	if err != nil {
		return nil, authError(ep, err)
	}
	return &http.Client{Transport: tr}, nil
}

// authError words a failed ping or token exchange.
func authError(ep endpoint, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
			return errdefs.Unauthorized(errors.New(registryCause(te)))
		}
		return errdefs.System(errors.New(registryCause(te)))
	}
	return classifyNet(err)
}

// ServerHost turns a login's server address ("https://host/v1/", "host",
// "" for Docker Hub) into the registry host credentials are checked on.
func ServerHost(addr string) string {
	a := strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	a, _, _ = strings.Cut(a, "/")
	switch a {
	case "", "index.docker.io", hubDomain, hubRegistry:
		return hubDomain
	}
	return a
}

// Login checks ac against its registry, as POST /auth does. It returns
// the identity token a token server handed out, if any.
func (s *Service) Login(ctx context.Context, ac *apiregistry.AuthConfig) (string, error) {
	host := ServerHost(ac.ServerAddress)
	ep := s.endpoints(host, true)[0]
	reg, err := ep.registry()
	if err != nil {
		return "", errdefs.InvalidParameter(err)
	}
	rt, err := s.transportFor(ep)
	if err != nil {
		return "", err
	}
	auth := Authenticator(ac)
	tr, err := transport.NewWithContext(ctx, reg, auth, rt, nil)
	if err != nil {
		return "", loginError(ep, err)
	}
	scheme := "https"
	if f, ok := rt.(forceScheme); ok {
		scheme = f.scheme
	}
	target := scheme + "://" + ep.host + "/v2/"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", loginError(ep, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", errdefs.Unauthorized(fmt.Errorf("login attempt to %s failed with status: %d %s", target, resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	return "", nil
}

func loginError(ep endpoint, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return errdefs.Unauthorized(errors.New(registryCause(te)))
	}
	return authError(ep, err)
}
