package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	apiregistry "github.com/moby/moby/api/types/registry"

	"berth/internal/errdefs"
)

// Search looks term up, as GET /images/search: Docker Hub's v1 search
// for plain terms, and for "host/term" the registry's catalog filtered
// by term (a v2 registry has no search endpoint).
func (s *Service) Search(ctx context.Context, term string, limit int, ac *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error) {
	if limit <= 0 {
		limit = 25
	}
	if limit > 100 {
		return nil, errdefs.InvalidParameterf("limit %d is outside the range of [1, 100]", limit)
	}
	host, rest := hubDomain, term
	if i := strings.IndexByte(term, '/'); i > 0 && strings.ContainsAny(term[:i], ".:") || strings.HasPrefix(term, "localhost/") {
		host, rest = term[:i], term[i+1:]
	}
	if host == hubDomain {
		return s.searchHub(ctx, rest, limit, ac)
	}
	return s.searchCatalog(ctx, host, rest, limit, ac)
}

func (s *Service) searchCatalog(ctx context.Context, host, term string, limit int, ac *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error) {
	ep := s.endpoints(host, true)[0]
	reg, err := ep.registry()
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	ro, err := s.remoteOptions(ctx, ep, Authenticator(ac))
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(ctx, reg, ro...)
	if err != nil {
		return nil, pushError(err)
	}
	out := []apiregistry.SearchResult{}
	for _, r := range repos {
		if term != "" && !strings.Contains(r, term) {
			continue
		}
		out = append(out, apiregistry.SearchResult{Name: host + "/" + r})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// searchHub asks Docker Hub's index (v1 search API).
func (s *Service) searchHub(ctx context.Context, term string, limit int, ac *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error) {
	ep := endpoint{host: "index.docker.io"}
	rt, err := s.transportFor(ep)
	if err != nil {
		return nil, err
	}
	target := "https://index.docker.io/v1/search?" + url.Values{"q": {term}, "n": {strconv.Itoa(limit)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, errdefs.System(err)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, classifyNet(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errdefs.Systemf("Unexpected status code %d", resp.StatusCode)
	}
	var res apiregistry.SearchResults
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, errdefs.System(fmt.Errorf("error decoding search results: %w", err))
	}
	if len(res.Results) > limit {
		res.Results = res.Results[:limit]
	}
	return res.Results, nil
}
