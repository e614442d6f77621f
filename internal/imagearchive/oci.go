package imagearchive

import (
	"encoding/json"
	"fmt"
	"runtime"

	"berth/internal/errdefs"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	mediaDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// ociItems reads an OCI image layout: index.json, its manifests (through
// nested indexes, for this platform) and their configs, each checked
// against its digest.
func ociItems(sp *spool) ([]*loadItem, error) {
	raw, err := sp.read(indexFile)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image archive: %s: %w", indexFile, err))
	}
	var items []*loadItem
	byManifest := map[digest.Digest]*loadItem{}
	for _, d := range idx.Manifests {
		it, err := ociManifest(sp, d, 0)
		if err != nil {
			return nil, err
		}
		if it == nil {
			continue
		}
		if prev := byManifest[d.Digest]; prev != nil {
			prev.repoTags = append(prev.repoTags, it.repoTags...)
			continue
		}
		byManifest[d.Digest] = it
		items = append(items, it)
	}
	return items, nil
}

// ociManifest turns one descriptor into an item; nil when it is an index
// without a manifest for this platform.
func ociManifest(sp *spool, d ocispec.Descriptor, depth int) (*loadItem, error) {
	if depth > 4 {
		return nil, errdefs.InvalidParameterf("invalid image archive: indexes nested too deeply")
	}
	raw, err := readBlob(sp, d.Digest)
	if err != nil {
		return nil, err
	}
	switch d.MediaType {
	case ocispec.MediaTypeImageIndex, mediaDockerManifestList:
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image index %s: %w", d.Digest, err))
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil && (m.Platform.OS != "linux" || m.Platform.Architecture != runtime.GOARCH) {
				continue
			}
			it, err := ociManifest(sp, m, depth+1)
			if err != nil || it != nil {
				if it != nil {
					it.repoTags = refName(d)
				}
				return it, err
			}
		}
		return nil, nil
	case ocispec.MediaTypeImageManifest, mediaDockerManifest, "":
	default:
		return nil, errdefs.InvalidParameterf("invalid image archive: unsupported media type %s", d.MediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid image manifest %s: %w", d.Digest, err))
	}
	cfg, err := readBlob(sp, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	it := &loadItem{config: cfg, repoTags: refName(d)}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return nil, errdefs.InvalidParameterf("invalid layer digest %q", l.Digest)
		}
		it.layers = append(it.layers, blobPath(l.Digest))
	}
	return it, nil
}

// readBlob reads a small blob and checks it against its digest.
func readBlob(sp *spool, d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, errdefs.InvalidParameterf("invalid digest %q", d)
	}
	raw, err := sp.read(blobPath(d))
	if err != nil {
		return nil, err
	}
	if d.Algorithm().FromBytes(raw) != d {
		return nil, errdefs.InvalidParameterf("invalid image archive: blob %s does not match its digest", d)
	}
	return raw, nil
}

// refName is the name an index entry gives its image: containerd's full
// name annotation, or a ref.name annotation that is a full reference
// (a bare tag names no repository).
func refName(d ocispec.Descriptor) []string {
	for _, v := range []string{d.Annotations[annotationName], d.Annotations[ocispec.AnnotationRefName]} {
		if v == "" {
			continue
		}
		named, err := reference.ParseNormalizedNamed(v)
		if err != nil {
			continue
		}
		if _, ok := named.(reference.NamedTagged); ok {
			return []string{reference.FamiliarString(named)}
		}
	}
	return nil
}
