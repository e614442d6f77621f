package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/api/types/jsonstream"
	apiregistry "github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
	"berth/internal/image"
)

// Media types of what a push writes.
const (
	mediaTypeManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeConfig   = "application/vnd.docker.container.image.v1+json"
)

// parallelUploads bounds the layer uploads of one push (dockerd's 5).
const parallelUploads = 5

// Push sends the image(s) tagged in repository name to its registry: one
// tag, or all of them when tag is "". Blobs the registry has are skipped
// and blobs another repository of the registry holds are mounted.
func (s *Service) Push(ctx context.Context, repoName, tag string, auth *apiregistry.AuthConfig, progress Progress) error {
	named, err := ParseReference(repoName)
	if err != nil {
		return err
	}
	named = reference.TrimNamed(named)
	var tags []reference.NamedTagged
	if tag != "" {
		t, err := reference.WithTag(named, tag)
		if err != nil {
			return errdefs.InvalidParameter(err)
		}
		if _, err := s.store.Get(ctx, t.String()); err != nil {
			return errdefs.NotFoundf("An image does not exist locally with the tag: %s", reference.FamiliarString(t))
		}
		tags = append(tags, t)
	} else {
		tags = s.localTags(ctx, named)
		if len(tags) == 0 {
			return errdefs.NotFoundf("An image does not exist locally with the tag: %s", reference.FamiliarName(named))
		}
	}
	rep := newReporter(progress)
	ep := s.endpoints(reference.Domain(named), true)[0]
	repo, err := ep.repository(reference.Path(named))
	if err != nil {
		return err
	}
	rep.status("", "The push refers to repository ["+named.Name()+"]")
	for _, t := range tags {
		if err := s.pushOne(ctx, ep, repo, t, Authenticator(auth), rep); err != nil {
			return err
		}
	}
	s.saveSources()
	return nil
}

func (s *Service) localTags(ctx context.Context, named reference.Named) []reference.NamedTagged {
	var out []reference.NamedTagged
	for _, img := range s.store.List(ctx) {
		for _, t := range img.RepoTags {
			n, err := reference.ParseNormalizedNamed(t)
			if err != nil || n.Name() != named.Name() {
				continue
			}
			if nt, ok := n.(reference.NamedTagged); ok {
				out = append(out, nt)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag() < out[j].Tag() })
	return out
}

type pushLayer struct {
	info  image.BlobInfo
	id    string
	mount string // repository on the same registry to mount from
}

type manifestDesc struct {
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Digest    digest.Digest `json:"digest"`
}

type schema2Manifest struct {
	SchemaVersion int            `json:"schemaVersion"`
	MediaType     string         `json:"mediaType"`
	Config        manifestDesc   `json:"config"`
	Layers        []manifestDesc `json:"layers"`
}

func (s *Service) pushOne(ctx context.Context, ep endpoint, repo name.Repository, t reference.NamedTagged, auth authnAuth, rep *reporter) error {
	raw, id, err := s.store.RawConfig(ctx, t.String())
	if err != nil {
		return err
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return errdefs.System(fmt.Errorf("invalid image config: %w", err))
	}
	layers := make([]*pushLayer, len(cf.RootFS.DiffIDs))
	scopes := []string{repo.Scope(transport.PushScope)}
	for i, d := range cf.RootFS.DiffIDs {
		info, err := s.store.LayerBlob(ctx, digest.Digest(d.String()))
		if err != nil {
			return fmt.Errorf("pushing layer %s: %w", d, err)
		}
		pl := &pushLayer{info: info, id: shortID(info.DiffID)}
		if src := s.sourceIn(info.Digest, ep.host, repo.RepositoryStr()); src != "" {
			pl.mount = src
			scopes = append(scopes, repo.Registry.Repo(src).Scope(transport.PullScope))
		}
		layers[i] = pl
	}
	client, err := s.registryClient(ctx, ep, auth, scopes)
	if err != nil {
		return err
	}
	u := &uploader{client: client, base: baseURL(ep, repo), store: s.store, rep: rep}
	for i := len(layers) - 1; i >= 0; i-- {
		rep.status(layers[i].id, "Preparing")
	}
	if err := u.pushLayers(ctx, layers); err != nil {
		return err
	}
	cfgDigest := digest.FromBytes(raw)
	if err := u.pushBytes(ctx, cfgDigest, raw); err != nil {
		return err
	}
	m := schema2Manifest{SchemaVersion: 2, MediaType: mediaTypeManifest,
		Config: manifestDesc{MediaType: mediaTypeConfig, Size: int64(len(raw)), Digest: cfgDigest}}
	for _, l := range layers {
		m.Layers = append(m.Layers, manifestDesc{MediaType: l.info.MediaType, Size: l.info.Size, Digest: l.info.Digest})
		s.addSource(l.info.Digest, ep.host+"/"+repo.RepositoryStr())
	}
	body, _ := json.Marshal(m)
	if err := u.putManifest(ctx, t.Tag(), body); err != nil {
		return err
	}
	md := digest.FromBytes(body)
	if dn, err := reference.WithDigest(reference.TrimNamed(t), md); err == nil {
		_ = s.store.AddDigest(ctx, id, dn.String())
	}
	rep.status("", fmt.Sprintf("%s: digest: %s size: %d", t.Tag(), md, len(body)))
	aux, _ := json.Marshal(map[string]any{"Tag": t.Tag(), "Digest": md.String(), "Size": len(body)})
	raux := json.RawMessage(aux)
	rep.mu.Lock()
	rep.out(jsonstream.Message{Aux: &raux})
	rep.mu.Unlock()
	return nil
}

func baseURL(ep endpoint, repo name.Repository) string {
	return "https://" + ep.host + "/v2/" + repo.RepositoryStr()
}

type uploader struct {
	client *http.Client
	base   string
	store  *image.Store
	rep    *reporter
}

func (u *uploader) pushLayers(ctx context.Context, layers []*pushLayer) error {
	sem := make(chan struct{}, parallelUploads)
	var wg sync.WaitGroup
	errs := make([]error, len(layers))
	seen := map[digest.Digest]bool{}
	for i, l := range layers {
		if seen[l.info.Digest] {
			continue // a layer repeated in one image goes once
		}
		seen[l.info.Digest] = true
		if i >= parallelUploads {
			u.rep.status(l.id, "Waiting")
		}
		wg.Add(1)
		go func(i int, l *pushLayer) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = u.pushLayer(ctx, l)
		}(i, l)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *uploader) pushLayer(ctx context.Context, l *pushLayer) error {
	exists, err := u.exists(ctx, l.info.Digest)
	if err != nil {
		return err
	}
	if exists {
		u.rep.status(l.id, "Layer already exists")
		return nil
	}
	q := url.Values{}
	if l.mount != "" {
		q.Set("mount", l.info.Digest.String())
		q.Set("from", l.mount)
	}
	loc, mounted, err := u.startUpload(ctx, q)
	if err != nil {
		return err
	}
	if mounted {
		u.rep.status(l.id, "Mounted from "+l.mount)
		return nil
	}
	rc, err := u.store.OpenBlob(ctx, l.info.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &countingReader{r: rc, fn: func(n int64) { u.rep.bytes(l.id, "Pushing", n, l.info.Size) }}
	if err := u.putBlob(ctx, loc, l.info.Digest, l.info.Size, cr); err != nil {
		return err
	}
	u.rep.status(l.id, "Pushed")
	return nil
}

func (u *uploader) pushBytes(ctx context.Context, d digest.Digest, b []byte) error {
	exists, err := u.exists(ctx, d)
	if err != nil || exists {
		return err
	}
	loc, _, err := u.startUpload(ctx, nil)
	if err != nil {
		return err
	}
	return u.putBlob(ctx, loc, d, int64(len(b)), bytesReader(b))
}

func (u *uploader) do(ctx context.Context, method, target string, body io.Reader, size int64, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, errdefs.System(err)
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, classifyNet(err)
	}
	return resp, nil
}

func (u *uploader) exists(ctx context.Context, d digest.Digest) (bool, error) {
	resp, err := u.do(ctx, http.MethodHead, u.base+"/blobs/"+d.String(), nil, 0, nil)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, pushError(transport.CheckError(resp, http.StatusOK))
}

// startUpload opens an upload session, or mounts with q's mount/from.
func (u *uploader) startUpload(ctx context.Context, q url.Values) (string, bool, error) {
	target := u.base + "/blobs/uploads/"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	resp, err := u.do(ctx, http.MethodPost, target, nil, 0, nil)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated, http.StatusAccepted); err != nil {
		return "", false, pushError(err)
	}
	if resp.StatusCode == http.StatusCreated {
		return "", true, nil
	}
	loc, err := resp.Location()
	if err != nil {
		return "", false, errdefs.System(fmt.Errorf("registry gave no upload location: %w", err))
	}
	return loc.String(), false, nil
}

func (u *uploader) putBlob(ctx context.Context, loc string, d digest.Digest, size int64, r io.Reader) error {
	lu, err := url.Parse(loc)
	if err != nil {
		return errdefs.System(err)
	}
	q := lu.Query()
	q.Set("digest", d.String())
	lu.RawQuery = q.Encode()
	resp, err := u.do(ctx, http.MethodPut, lu.String(), r, size, map[string]string{"Content-Type": "application/octet-stream"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated); err != nil {
		return pushError(err)
	}
	return nil
}

func (u *uploader) putManifest(ctx context.Context, tag string, body []byte) error {
	resp, err := u.do(ctx, http.MethodPut, u.base+"/manifests/"+tag, bytesReader(body), int64(len(body)), map[string]string{"Content-Type": mediaTypeManifest})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated, http.StatusOK); err != nil {
		return pushError(err)
	}
	return nil
}
