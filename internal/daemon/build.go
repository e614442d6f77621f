package daemon

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apibuild "github.com/moby/moby/api/types/build"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/builder"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// Builds is the build service: docker build and builder prune.
type Builds struct {
	builder *builder.Builder
	images  *Images
}

// newBuilds wires the builder to the container and image services.
func newBuilds(dataRoot string, c *Containers, imgs *Images, dist *Distribution) (*Builds, error) {
	b, err := builder.New(dataRoot, &buildBackend{c: c, imgs: imgs, dist: dist})
	if err != nil {
		return nil, err
	}
	return &Builds{builder: b, images: imgs}, nil
}

// Build runs one build; out receives the classic builder's progress.
func (s *Builds) Build(ctx context.Context, r io.Reader, opts backend.BuildOptions, out builder.Output) (digest.Digest, error) {
	return s.builder.Build(ctx, r, opts, out)
}

// Prune empties the build cache and removes the cached images nothing
// else holds (untagged, no container, no child image).
func (s *Builds) Prune(ctx context.Context, all bool) (*apibuild.CachePruneReport, error) {
	ids, err := s.builder.Prune(ctx)
	if err != nil {
		return nil, err
	}
	rep := &apibuild.CachePruneReport{CachesDeleted: []string{}}
	// Children first: an image's parent becomes removable once its last
	// child is gone, so repeat until nothing more goes.
	for removed := true; removed; {
		removed = false
		for _, id := range ids {
			img, err := s.images.store.Get(ctx, id)
			if err != nil || len(img.RepoTags) > 0 || s.images.hasChildren(ctx, img.ID) || s.images.inUse(img.ID) {
				continue
			}
			if _, err := s.images.store.Delete(ctx, img.ID); err == nil {
				rep.CachesDeleted = append(rep.CachesDeleted, img.ID.String())
				rep.SpaceReclaimed += uint64(max(img.Size, 0))
				removed = true
			}
		}
	}
	return rep, nil
}

// CacheEntries is how many steps the cache holds.
func (s *Builds) CacheEntries() int { return s.builder.CacheEntries() }

func (s *Images) hasChildren(ctx context.Context, id digest.Digest) bool {
	for _, img := range s.store.List(ctx) {
		if img.Parent == id {
			return true
		}
	}
	return false
}

func (s *Images) inUse(id digest.Digest) bool {
	for _, c := range s.containers.List() {
		if c.ImageID == id {
			return true
		}
	}
	return false
}

// buildBackend is builder.Backend on the daemon's services.
type buildBackend struct {
	c    *Containers
	imgs *Images
	dist *Distribution // nil: FROM never pulls
}

// PullImage pulls a FROM image anonymously, printing the pull's status
// lines (not its progress bars) into the build's output.
func (b *buildBackend) PullImage(ctx context.Context, ref string, out io.Writer) error {
	if b.dist == nil {
		return errdefs.NotFoundf("No such image: %s", ref)
	}
	return b.dist.Pull(ctx, ref, nil, false, nil, func(m jsonstream.Message) {
		if m.Status == "" || m.Progress != nil && m.Progress.Total > 0 {
			return
		}
		if m.ID != "" {
			fmt.Fprintf(out, "%s: %s\n", m.ID, m.Status)
		} else {
			fmt.Fprintf(out, "%s\n", m.Status)
		}
	})
}

func (b *buildBackend) Image(ctx context.Context, ref string) (*image.Image, error) {
	return b.imgs.store.Get(ctx, ref)
}

func (b *buildBackend) Commit(ctx context.Context, opts image.CommitOptions) (*image.Image, error) {
	if opts.Container != "" {
		opts.Exclude = append(opts.Exclude, runtimeMountPoints...)
	}
	return b.imgs.store.Commit(ctx, opts)
}

func (b *buildBackend) CreateContainer(ctx context.Context, cfg *apicontainer.Config, hc *apicontainer.HostConfig) (string, error) {
	res, err := b.c.Create(ctx, "", cfg, hc)
	return res.ID, err
}

func (b *buildBackend) MountContainer(ctx context.Context, id string) (string, error) {
	return b.c.images.Mount(ctx, id)
}

func (b *buildBackend) UnmountContainer(ctx context.Context, id string) error {
	return b.c.images.Unmount(ctx, id)
}

func (b *buildBackend) RemoveContainer(ctx context.Context, id string) error {
	return b.c.Remove(ctx, id, backend.RemoveOptions{Force: true, RemoveVolumes: true})
}

func (b *buildBackend) TagImage(ctx context.Context, id digest.Digest, ref string) error {
	return b.imgs.Tag(ctx, id.String(), ref, "")
}

// RunContainer attaches to the step container's output, starts it and
// waits for its exit; a cancelled ctx kills it.
func (b *buildBackend) RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	attached := make(chan struct{})
	attachDone := make(chan error, 1)
	go func() {
		attachDone <- b.c.Attach(actx, id, backend.AttachOptions{Stdout: true, Stderr: true, Stream: true},
			func(bool) (backend.AttachStreams, error) {
				close(attached)
				// No stdin: an empty reader is a half-close, which keeps the attach.
				return backend.AttachStreams{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}, nil
			})
	}()
	select {
	case <-attached:
	case err := <-attachDone:
		return 0, err
	}
	type result struct {
		code int
		err  error
	}
	waitReady := make(chan struct{})
	waited := make(chan result, 1)
	go func() {
		code, _, err := b.c.Wait(actx, id, apicontainer.WaitConditionNextExit, func() { close(waitReady) })
		waited <- result{code, err}
	}()
	select {
	case <-waitReady:
	case r := <-waited:
		return 0, r.err
	}
	if err := b.c.Start(ctx, id); err != nil {
		return 0, err
	}
	var r result
	select {
	case r = <-waited:
	case <-ctx.Done():
		// The client went away: stop the step; the builder removes it.
		b.c.Kill(context.WithoutCancel(ctx), id, "KILL")
		return 0, ctx.Err()
	}
	if r.err != nil {
		return 0, r.err
	}
	// The attach ends at the exit; let it deliver the last lines.
	select {
	case <-attachDone:
	case <-time.After(2 * time.Second):
	}
	return r.code, nil
}

// CacheUsage is the build-cache part of system df: one record per image
// the cache names, sized by the layer its step added. A record is
// reclaimable when builder prune would remove its image.
func (s *Builds) CacheUsage(ctx context.Context) *apibuild.DiskUsage {
	out := &apibuild.DiskUsage{}
	for _, id := range s.builder.CachedImages() {
		img, err := s.images.store.Get(ctx, id.String())
		if err != nil {
			continue
		}
		rec := apibuild.CacheRecord{ID: img.ID.Encoded(), Type: "regular", Shared: len(img.RepoTags) > 0}
		if img.Parent != "" {
			rec.Parents = []string{img.Parent.Encoded()}
		}
		if h := img.Config.History; len(h) > 0 {
			last := h[len(h)-1]
			rec.Description = last.CreatedBy
			if !last.EmptyLayer {
				if sizes, err := s.images.store.LayerSizes(ctx, img.ID); err == nil && len(sizes) > 0 {
					rec.Size = sizes[len(sizes)-1]
				}
			}
		}
		if img.Config.Created != nil {
			rec.CreatedAt = *img.Config.Created
		}
		rec.InUse = s.images.inUse(img.ID)
		if rec.InUse {
			out.ActiveCount++
		}
		if !rec.InUse && !rec.Shared && !s.images.hasChildren(ctx, img.ID) {
			out.Reclaimable += rec.Size
		}
		out.TotalSize += rec.Size
		out.Items = append(out.Items, rec)
	}
	out.TotalCount = int64(len(out.Items))
	return out
}
