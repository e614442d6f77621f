package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	apiregistry "github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
	"berth/internal/image"
)

// PullOptions are the knobs of POST /images/create?fromImage=.
type PullOptions struct {
	// Platform picks from a manifest list; nil is the daemon's own.
	Platform *v1.Platform
	// AllTags pulls every tag of the repository (docker pull -a).
	AllTags bool
	Auth    *apiregistry.AuthConfig
}

// DefaultPlatform is the platform the daemon runs images for.
func DefaultPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// Pull fetches ref (a tag, a digest, or a bare name with AllTags) into the
// store, reporting Docker's progress messages.
func (s *Service) Pull(ctx context.Context, ref string, opts PullOptions, progress Progress) error {
	named, err := ParseReference(ref)
	if err != nil {
		return err
	}
	rep := newReporter(progress)
	auth := Authenticator(opts.Auth)
	if !opts.AllTags {
		named = reference.TagNameOnly(named)
		updated, err := s.pullOne(ctx, named, opts, auth, rep)
		if err != nil {
			return err
		}
		rep.status("", finalStatus(updated, reference.FamiliarString(named)))
		return nil
	}
	if _, ok := named.(reference.NamedTagged); ok {
		return errdefs.InvalidParameterf("tag can't be used with --all-tags/-a")
	}
	tags, err := s.listTags(ctx, named, auth)
	if err != nil {
		return err
	}
	any := false
	for _, tag := range tags {
		tagged, err := reference.WithTag(named, tag)
		if err != nil {
			continue
		}
		updated, err := s.pullOne(ctx, tagged, opts, auth, rep)
		if err != nil {
			return err
		}
		any = any || updated
	}
	rep.status("", finalStatus(any, reference.FamiliarName(named)))
	return nil
}

func finalStatus(updated bool, name string) string {
	if updated {
		return "Status: Downloaded newer image for " + name
	}
	return "Status: Image is up to date for " + name
}

func (s *Service) listTags(ctx context.Context, named reference.Named, auth authn.Authenticator) ([]string, error) {
	var lastErr error
	for _, ep := range s.endpoints(reference.Domain(named), false) {
		repo, err := ep.repository(reference.Path(named))
		if err != nil {
			return nil, err
		}
		ro, err := s.remoteOptions(ctx, ep, auth)
		if err != nil {
			return nil, err
		}
		tags, err := remote.List(repo, ro...)
		if err == nil {
			sort.Strings(tags)
			return tags, nil
		}
		lastErr = err
	}
	return nil, pullError(named, lastErr)
}

// resolved is a manifest picked for the daemon's platform.
type resolved struct {
	ep     endpoint
	top    digest.Digest // what the reference names (an index, maybe)
	img    v1.Image
	config []byte
}

// resolve fetches named's manifest from the first endpoint that has it.
func (s *Service) resolve(ctx context.Context, named reference.Named, opts PullOptions, auth authn.Authenticator) (*resolved, error) {
	var lastErr error
	for _, ep := range s.endpoints(reference.Domain(named), false) {
		r, err := s.resolveAt(ctx, ep, named, opts, auth)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if ep.mirror {
			s.log.Info("registry mirror failed, trying the next", "mirror", ep.host, "err", err)
			continue
		}
	}
	return nil, lastErr
}

func (s *Service) resolveAt(ctx context.Context, ep endpoint, named reference.Named, opts PullOptions, auth authn.Authenticator) (*resolved, error) {
	nref, err := repoRef(ep, named)
	if err != nil {
		return nil, err
	}
	ro, err := s.remoteOptions(ctx, ep, auth)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(nref, ro...)
	if err != nil {
		return nil, pullError(named, err)
	}
	r := &resolved{ep: ep, top: digest.Digest(desc.Digest.String())}
	want := DefaultPlatform()
	if opts.Platform != nil {
		want = *opts.Platform
	}
	switch desc.MediaType {
	case types.DockerManifestList, types.OCIImageIndex:
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, pullError(named, err)
		}
		child, err := pickPlatform(idx, want)
		if err != nil {
			return nil, err
		}
		if r.img, err = idx.Image(child); err != nil {
			return nil, pullError(named, err)
		}
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		return nil, errdefs.InvalidParameterf("Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of %s to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2", reference.FamiliarString(named))
	default:
		if r.img, err = desc.Image(); err != nil {
			return nil, pullError(named, err)
		}
	}
	if r.config, err = r.img.RawConfigFile(); err != nil {
		return nil, pullError(named, err)
	}
	if opts.Platform != nil && desc.MediaType != types.DockerManifestList && desc.MediaType != types.OCIImageIndex {
		var cf v1.ConfigFile
		if json.Unmarshal(r.config, &cf) == nil && cf.OS != "" && (cf.OS != want.OS || cf.Architecture != want.Architecture) {
			return nil, errdefs.NotFoundf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s/%s",
				reference.FamiliarString(named), platformString(want), cf.OS, cf.Architecture)
		}
	}
	return r, nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pickPlatform chooses the index entry for want: the same OS and
// architecture, and the same variant when want names one.
func pickPlatform(idx v1.ImageIndex, want v1.Platform) (v1.Hash, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, errdefs.System(err)
	}
	var fallback *v1.Hash
	for _, m := range im.Manifests {
		p := m.Platform
		if p == nil || p.OS != want.OS || p.Architecture != want.Architecture {
			continue
		}
		if want.Variant == "" || p.Variant == want.Variant {
			return m.Digest, nil
		}
		if p.Variant == "" && fallback == nil {
			d := m.Digest
			fallback = &d
		}
	}
	if fallback != nil {
		return *fallback, nil
	}
	return v1.Hash{}, errdefs.NotFoundf("no matching manifest for %s in the manifest list entries", platformString(want))
}

// pullOne pulls one tag or digest and reports whether the reference now
// names a different image than before.
func (s *Service) pullOne(ctx context.Context, named reference.Named, opts PullOptions, auth authn.Authenticator, rep *reporter) (bool, error) {
	id := "latest"
	if t, ok := named.(reference.Tagged); ok {
		id = t.Tag()
	} else if c, ok := named.(reference.Canonical); ok {
		id = c.Digest().String()
	}
	// Nothing is reported before the manifest resolves, so a bad name
	// answers with a plain error status, as Docker's does.
	r, err := s.resolve(ctx, named, opts, auth)
	if err != nil {
		return false, err
	}
	rep.status(id, "Pulling from "+reference.Path(named))
	var before digest.Digest
	if img, err := s.store.Get(ctx, named.String()); err == nil {
		before = img.ID
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(r.config, &cf); err != nil {
		return false, errdefs.InvalidParameter(fmt.Errorf("invalid image config: %w", err))
	}
	layers, err := r.img.Layers()
	if err != nil {
		return false, pullError(named, err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return false, errdefs.InvalidParameterf("image %s has %d layers but its config names %d", reference.FamiliarString(named), len(layers), len(cf.RootFS.DiffIDs))
	}
	diffIDs := make([]digest.Digest, len(layers))
	for i, d := range cf.RootFS.DiffIDs {
		diffIDs[i] = digest.Digest(d.String())
	}
	drops, err := s.pullLayers(ctx, layers, diffIDs, rep)
	defer func() {
		for _, d := range drops {
			d()
		}
	}()
	if err != nil {
		return false, err
	}
	tag := ""
	if _, ok := named.(reference.Canonical); !ok {
		tag = named.String()
	}
	img, err := s.store.CreateImage(ctx, r.config, tag)
	if err != nil {
		return false, err
	}
	if dn, err := reference.WithDigest(reference.TrimNamed(named), r.top); err == nil {
		if err := s.store.AddDigest(ctx, img.ID, dn.String()); err != nil {
			return false, err
		}
	}
	repo := reference.Domain(named) + "/" + reference.Path(named)
	for _, l := range layers {
		if d, err := l.Digest(); err == nil {
			s.addSource(digest.Digest(d.String()), repo)
		}
	}
	s.saveSources()
	rep.status("", "Digest: "+r.top.String())
	return before != img.ID, nil
}

type layerJob struct {
	l      v1.Layer
	digest digest.Digest
	id     string
	size   int64
	chain  digest.Digest
	parent digest.Digest
	dl     *download
}

// pullLayers downloads the missing layers in parallel and registers them
// in order, each streamed from its download as it arrives. It returns the
// holds to drop once the image is created.
func (s *Service) pullLayers(ctx context.Context, layers []v1.Layer, diffIDs []digest.Digest, rep *reporter) ([]func(), error) {
	var jobs []*layerJob
	var parent digest.Digest
	for i, l := range layers {
		h, err := l.Digest()
		if err != nil {
			return nil, errdefs.System(err)
		}
		size, _ := l.Size()
		chain := chainID(parent, diffIDs[i])
		j := &layerJob{l: l, digest: digest.Digest(h.String()), size: size, chain: chain, parent: parent}
		j.id = shortID(j.digest)
		parent = chain
		if s.store.HasLayer(chain) {
			rep.status(j.id, "Already exists")
			continue
		}
		rep.status(j.id, "Pulling fs layer")
		jobs = append(jobs, j)
	}
	var holds []func()
	defer func() {
		for _, j := range jobs {
			if j.dl != nil {
				s.dl.release(j.dl)
			}
		}
	}()
	for n, j := range jobs {
		if n >= parallelDownloads {
			rep.status(j.id, "Waiting")
		}
		j := j
		dl, err := s.dl.start(ctx, j.digest, j.l, j.size, func(status string, n int64) {
			if n < 0 {
				rep.status(j.id, status)
			} else {
				rep.bytes(j.id, status, n, j.size)
			}
		})
		if err != nil {
			return holds, err
		}
		j.dl = dl
	}
	for _, j := range jobs {
		layer, drop, err := s.regs.do(j.chain, func() (image.Layer, func(), error) {
			if s.store.HasLayer(j.chain) {
				// Another pull finished it between our check and now.
				return image.Layer{ChainID: j.chain}, nil, nil
			}
			rc, err := j.dl.reader(ctx)
			if err != nil {
				return image.Layer{}, nil, err
			}
			defer rc.Close()
			cr := &countingReader{r: rc, fn: func(n int64) { rep.bytes(j.id, "Extracting", n, j.size) }}
			return s.store.RegisterLayer(ctx, j.parent, cr)
		})
		holds = append(holds, drop)
		if err != nil {
			// A bad blob usually breaks decompression before the digest
			// check at its end: name the real cause when the download has it.
			if dlErr := j.dl.waitFor(5 * time.Second); dlErr != nil {
				return holds, verifyError(j.digest, dlErr)
			}
			return holds, fmt.Errorf("failed to register layer: %w", err)
		}
		if layer.ChainID != j.chain {
			return holds, errdefs.InvalidParameterf("failed to register layer: layer %s does not match the diff ID the image config names", j.digest)
		}
		rep.status(j.id, "Pull complete")
	}
	return holds, nil
}

func chainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.fn(c.n)
	}
	return n, err
}

// verifyError words a blob that failed its download or digest check as
// dockerd does.
func verifyError(d digest.Digest, err error) error {
	if errdefs.ClassOf(err) == errdefs.ClassUnknown {
		err = errdefs.InvalidParameter(err)
	}
	return fmt.Errorf("filesystem layer verification failed for digest %s: %w", d, err)
}
