package distribution

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"berth/internal/atomicfile"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// parallelDownloads bounds the blob downloads of all pulls together, as
// dockerd's max-concurrent-downloads (3) does.
const parallelDownloads = 3

// Service pulls, pushes, logs in and searches. It is safe for concurrent
// use.
type Service struct {
	store *image.Store
	cfg   Config
	log   *slog.Logger
	root  string

	dl   *downloads
	regs registrations
	transportCache

	// sources remembers which repositories hold a blob (from pulls and
	// pushes), so a push to another repository of the same registry can
	// mount it instead of uploading it again.
	smu     sync.Mutex
	sources map[digest.Digest][]string
}

// New opens the service's state under dataRoot/distribution; temp files a
// killed daemon left are removed.
func New(store *image.Store, dataRoot string, cfg Config, log *slog.Logger) (*Service, error) {
	root := filepath.Join(dataRoot, "distribution")
	tmp := filepath.Join(root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, errdefs.System(err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "berth"
	}
	s := &Service{
		store: store, cfg: cfg, log: log, root: root,
		dl:             newDownloads(tmp, parallelDownloads),
		regs:           registrations{m: map[digest.Digest]*registration{}},
		transportCache: transportCache{transports: map[transportKey]http.RoundTripper{}},
		sources:        map[digest.Digest][]string{},
	}
	if b, err := os.ReadFile(s.sourcesPath()); err == nil {
		_ = json.Unmarshal(b, &s.sources)
	}
	return s, nil
}

func (s *Service) sourcesPath() string { return filepath.Join(s.root, "sources.json") }

// addSource records that repo ("host/path") holds blob d.
func (s *Service) addSource(d digest.Digest, repo string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	for _, r := range s.sources[d] {
		if r == repo {
			return
		}
	}
	s.sources[d] = append(s.sources[d], repo)
	sort.Strings(s.sources[d])
}

func (s *Service) saveSources() {
	s.smu.Lock()
	b, err := json.Marshal(s.sources)
	s.smu.Unlock()
	if err == nil {
		if err := atomicfile.Replace(s.sourcesPath(), b, 0o600); err != nil {
			s.log.Warn("saving blob sources", "err", err)
		}
	}
}

// sourceIn returns a repository path on host known to hold d, other than
// exclude.
func (s *Service) sourceIn(d digest.Digest, host, exclude string) string {
	s.smu.Lock()
	defer s.smu.Unlock()
	for _, r := range s.sources[d] {
		h, p, ok := cutHost(r)
		if ok && h == host && p != exclude {
			return p
		}
	}
	return ""
}

func cutHost(repo string) (host, path string, ok bool) {
	for i := 0; i < len(repo); i++ {
		if repo[i] == '/' {
			return repo[:i], repo[i+1:], true
		}
	}
	return "", "", false
}

// remoteOptions are the library options for one endpoint.
func (s *Service) remoteOptions(ctx context.Context, ep endpoint, auth authn.Authenticator) ([]remote.Option, error) {
	rt, err := s.transportFor(ep)
	if err != nil {
		return nil, err
	}
	return []remote.Option{
		remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(rt),
		remote.WithUserAgent(s.cfg.UserAgent),
	}, nil
}

// ParseReference parses a user's image reference as the Engine API does:
// a malformed one is InvalidParameter with the reference library's words
// ("invalid reference format").
func ParseReference(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	return named, nil
}

// repoRef names named's repository and tag or digest on ep.
func repoRef(ep endpoint, named reference.Named) (name.Reference, error) {
	repo, err := ep.repository(reference.Path(named))
	if err != nil {
		return nil, err
	}
	if c, ok := named.(reference.Canonical); ok {
		return repo.Digest(c.Digest().String()), nil
	}
	if t, ok := named.(reference.Tagged); ok {
		return repo.Tag(t.Tag()), nil
	}
	return repo.Tag("latest"), nil
}
