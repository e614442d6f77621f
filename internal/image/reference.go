package image

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"berth/internal/errdefs"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

var (
	shortIDRe = regexp.MustCompile(`^[a-f0-9]{1,64}$`)
	fullIDRe  = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// notFound words a miss as Docker does: a name shows with its implied tag
// in familiar form ("No such image: busybox:latest"), an ID as given.
func notFound(ref reference.Reference, given string) error {
	msg := given
	if named, ok := ref.(reference.Named); ok {
		msg = reference.FamiliarString(reference.TagNameOnly(named))
	}
	return errdefs.NotFoundf("No such image: %s", msg)
}

// parseRef parses refOrID the way the Engine API does; a malformed one is an
// errdefs.InvalidParameter error in the reference library's words.
func parseRef(refOrID string) (reference.Reference, error) {
	ref, err := reference.ParseAnyReference(refOrID)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	return ref, nil
}

// resolve finds the image refOrID names. Callers hold mu.
func (s *Store) resolve(refOrID string) (digest.Digest, error) {
	if d, err := digest.Parse(refOrID); err == nil {
		if s.images[d] != nil {
			return d, nil
		}
		return "", errdefs.NotFoundf("No such image: %s", refOrID)
	}
	ref, err := parseRef(refOrID)
	if err != nil {
		return "", err
	}
	named, isNamed := ref.(reference.Named)
	if !isNamed {
		// A bare 64-hex string: an image ID.
		if d, ok := ref.(reference.Digested); ok && s.images[d.Digest()] != nil {
			return d.Digest(), nil
		}
		return "", errdefs.NotFoundf("No such image: %s", refOrID)
	}
	if c, ok := named.(reference.Canonical); ok {
		if id, ok := s.refs[c.String()]; ok {
			return id, nil
		}
		// name@<image ID> names the image if the name is one of its repos.
		if img := s.images[c.Digest()]; img != nil {
			for r, id := range s.refs {
				if id == img.id && strings.HasPrefix(r, named.Name()+":") {
					return id, nil
				}
			}
		}
		return "", notFound(ref, refOrID)
	}
	if id, ok := s.refs[reference.TagNameOnly(named).String()]; ok {
		return id, nil
	}
	if shortIDRe.MatchString(refOrID) {
		var match digest.Digest
		for id := range s.images {
			if strings.HasPrefix(id.Encoded(), refOrID) {
				if match != "" {
					return "", notFound(ref, refOrID) // ambiguous
				}
				match = id
			}
		}
		if match != "" {
			return match, nil
		}
	}
	return "", notFound(ref, refOrID)
}

// Get returns the image refOrID names: a reference in any form Docker
// accepts ("busybox", "busybox:latest", "docker.io/library/busybox:latest",
// "name@sha256:…"), a full "sha256:…" ID, or a unique prefix of the hex ID.
func (s *Store) Get(ctx context.Context, refOrID string) (*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.resolve(refOrID)
	if err != nil {
		return nil, err
	}
	return s.snapshot(s.images[id]), nil
}

// List returns a snapshot of every image in ID order; callers
// sort as their output wants.
func (s *Store) List(ctx context.Context) []*Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Image, 0, len(s.images))
	for _, rec := range s.images {
		out = append(out, s.snapshot(rec))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// refsOf returns the familiar tags and digests pointing at id, sorted.
// Callers hold mu.
func (s *Store) refsOf(id digest.Digest) (tags, digests []string) {
	for r, target := range s.refs {
		if target != id {
			continue
		}
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			continue
		}
		if _, ok := named.(reference.Canonical); ok {
			digests = append(digests, reference.FamiliarString(named))
		} else {
			tags = append(tags, reference.FamiliarString(named))
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	return tags, digests
}

// References lists the familiar references (tags, then digests) to id.
func (s *Store) References(id digest.Digest) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, digests := s.refsOf(id)
	return append(tags, digests...)
}

// normalizeTag turns a user's reference into the stored form: normalised
// name with ":latest" implied; digests are refused for tags.
func normalizeTag(ref string) (reference.Named, error) {
	if fullIDRe.MatchString(ref) {
		return nil, errdefs.InvalidParameterf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", ref)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if _, ok := named.(reference.Canonical); ok {
		return nil, errdefs.InvalidParameterf("refusing to create a tag with a digest reference")
	}
	if fullIDRe.MatchString(reference.Path(named)) && reference.Domain(named) == "docker.io" {
		return nil, errdefs.InvalidParameterf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", reference.Path(named))
	}
	return reference.TagNameOnly(named), nil
}

// Tag points ref at image id, moving it from any image it named before.
func (s *Store) Tag(ctx context.Context, id digest.Digest, ref string) error {
	named, err := normalizeTag(ref)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.images[id] == nil {
		return errdefs.NotFoundf("No such image: %s", id)
	}
	s.refs[named.String()] = id
	return s.saveRefs()
}

// AddDigest records a repo digest (name@sha256:…, e.g. from a pull) for id.
func (s *Store) AddDigest(ctx context.Context, id digest.Digest, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return errdefs.InvalidParameter(err)
	}
	c, ok := named.(reference.Canonical)
	if !ok {
		return errdefs.InvalidParameterf("%s is not a digest reference", ref)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.images[id] == nil {
		return errdefs.NotFoundf("No such image: %s", id)
	}
	s.refs[c.String()] = id
	return s.saveRefs()
}

// Untag removes ref (a tag or a digest reference) and returns it in
// familiar form.
func (s *Store) Untag(ctx context.Context, ref string) (string, error) {
	parsed, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	named, ok := parsed.(reference.Named)
	if !ok {
		return "", errdefs.InvalidParameterf("invalid reference format")
	}
	if _, isCanonical := named.(reference.Canonical); !isCanonical {
		named = reference.TagNameOnly(named)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refs[named.String()]; !ok {
		return "", notFound(named, ref)
	}
	delete(s.refs, named.String())
	if err := s.saveRefs(); err != nil {
		return "", err
	}
	return reference.FamiliarString(named), nil
}

// saveRefs persists the reference map. Callers hold mu; the file is small.
func (s *Store) saveRefs() error {
	if err := writeJSONAtomic(filepath.Join(s.root, "repositories.json"), s.refs); err != nil {
		return fmt.Errorf("image: saving references: %w", err)
	}
	return nil
}
