package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path"
	"runtime"
	"strings"
	"time"

	"berth/internal/errdefs"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions describe one new image on top of Parent: what docker
// commit makes from a container, and what each build step makes.
type CommitOptions struct {
	// Parent is the image the new one extends; "" starts from nothing
	// (FROM scratch).
	Parent digest.Digest
	// Container, when set, names the container whose read-write layer
	// becomes the new top layer.
	Container string
	// Exclude lists paths (absolute inside the container) left out of the
	// container's layer: the mount points the runtime created for
	// /etc/hosts, /etc/hostname and /etc/resolv.conf are not the user's.
	Exclude []string
	// Config is the new image's runtime config, whole (not a delta).
	Config dockerspec.DockerOCIImageConfig
	// Author, Comment and CreatedBy go into the new history entry; Author
	// also becomes the image's author.
	Author, Comment, CreatedBy string
	// Ref optionally tags the result.
	Ref string
	// Created is the creation time; zero means now.
	Created time.Time
	// NoHistory adds no history entry: the empty base image a FROM
	// scratch build puts its first layer on is no step of its own.
	NoHistory bool
}

// Commit stores a new image whose layers are Parent's plus, when
// opts.Container is set, that container's changes; without a container the
// image only changes metadata and its history entry is marked empty, as a
// builder's ENV or LABEL step. The new image records Parent as its parent.
// Pause the container first for a consistent layer.
func (s *Store) Commit(ctx context.Context, opts CommitOptions) (*Image, error) {
	var base dockerspec.DockerOCIImage
	if opts.Parent != "" {
		p, err := s.Get(ctx, opts.Parent.String())
		if err != nil {
			return nil, err
		}
		base = p.Config
	}
	if opts.Ref != "" {
		if _, err := normalizeTag(opts.Ref); err != nil {
			return nil, err
		}
	}
	now := opts.Created
	if now.IsZero() {
		now = time.Now().UTC()
	}
	hist := ocispec.History{Created: &now, CreatedBy: opts.CreatedBy, Comment: opts.Comment, Author: opts.Author}
	diffIDs := append([]digest.Digest(nil), base.RootFS.DiffIDs...)
	if opts.Container != "" {
		layer, release, err := s.commitLayer(ctx, opts.Container, chainOf(diffIDs), opts.Exclude)
		if err != nil {
			return nil, err
		}
		defer release()
		diffIDs = append(diffIDs, layer.DiffID)
	} else {
		hist.EmptyLayer = true
	}
	img := dockerspec.DockerOCIImage{
		Image: ocispec.Image{
			Created:  &now,
			Author:   opts.Author,
			Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
			History:  append([]ocispec.History(nil), base.History...),
		},
		Config: opts.Config,
	}
	if !opts.NoHistory {
		img.History = append(img.History, hist)
	}
	if img.RootFS.DiffIDs == nil {
		img.RootFS.DiffIDs = []digest.Digest{}
	}
	if base.Architecture != "" {
		img.Platform = base.Platform
	}
	raw, err := json.Marshal(img)
	if err != nil {
		return nil, errdefs.System(err)
	}
	out, err := s.CreateImage(ctx, raw, opts.Ref)
	if err != nil {
		return nil, err
	}
	if opts.Parent != "" {
		if err := s.SetParent(ctx, out.ID, opts.Parent); err != nil {
			return nil, err
		}
		out.Parent = opts.Parent
	}
	return out, nil
}

// chainOf is the chain ID of the top of a diff ID list ("" for none).
func chainOf(diffIDs []digest.Digest) digest.Digest {
	var c digest.Digest
	for _, d := range diffIDs {
		c = chainID(c, d)
	}
	return c
}

// commitLayer registers the container's changes, minus exclude, on parent.
func (s *Store) commitLayer(ctx context.Context, containerID string, parent digest.Digest, exclude []string) (Layer, func(), error) {
	m, err := s.mountRec(containerID)
	if err != nil {
		return Layer{}, nil, err
	}
	if m.TopLayer != parent {
		return Layer{}, nil, errdefs.InvalidParameterf("image: container %s does not run on the given parent image", containerID)
	}
	diff, err := s.RWDiff(ctx, containerID)
	if err != nil {
		return Layer{}, nil, err
	}
	defer diff.Close()
	skip := map[string]bool{}
	for _, p := range exclude {
		skip[strings.TrimPrefix(path.Clean("/"+p), "/")] = true
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(filterTar(diff, pw, skip)) }()
	defer pr.Close()
	return s.RegisterLayer(ctx, parent, pr)
}

// filterTar copies a tar stream, dropping the entries named in skip.
func filterTar(r io.Reader, w io.Writer, skip map[string]bool) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if skip[name] {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
