package builder

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// Backend is what a build needs from the daemon. Step containers are real
// containers: created, started and removed through the container service.
type Backend interface {
	// Image resolves a reference or ID.
	Image(ctx context.Context, ref string) (*image.Image, error)
	// Commit stores a step's image (see image.Store.Commit).
	Commit(ctx context.Context, opts image.CommitOptions) (*image.Image, error)
	// CreateContainer creates a step container and returns its ID.
	CreateContainer(ctx context.Context, cfg *apicontainer.Config, hc *apicontainer.HostConfig) (string, error)
	// RunContainer starts a created container, streams its output, and
	// returns its exit code once it exited.
	RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error)
	// MountContainer mounts a container's rootfs and returns the path.
	MountContainer(ctx context.Context, id string) (string, error)
	UnmountContainer(ctx context.Context, id string) error
	// RemoveContainer deletes a container with its anonymous volumes.
	RemoveContainer(ctx context.Context, id string) error
	// TagImage points ref at the image.
	TagImage(ctx context.Context, id digest.Digest, ref string) error
}

// Puller is a Backend that can fetch an image from its registry: FROM of
// an image that is not here, or of any image with --pull, pulls it first,
// as Docker's classic builder does.
type Puller interface {
	// PullImage pulls ref, writing progress lines to out.
	PullImage(ctx context.Context, ref string, out io.Writer) error
}

// Output receives the build's progress. Text goes to Write as Docker's
// classic builder prints it; the final image ID also goes to Aux.
type Output = backend.BuildOutput

// Builder runs builds. It is safe for concurrent use.
type Builder struct {
	b     Backend
	root  string // <data-root>/builder
	cache *cache
}

// New opens the builder's state under dataRoot/builder.
func New(dataRoot string, b Backend) (*Builder, error) {
	root := filepath.Join(dataRoot, "builder")
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, errdefs.System(err)
	}
	// Contexts of builds a crash interrupted.
	ents, _ := os.ReadDir(filepath.Join(root, "tmp"))
	for _, e := range ents {
		os.RemoveAll(filepath.Join(root, "tmp", e.Name()))
	}
	c, err := openCache(filepath.Join(root, "cache.json"))
	if err != nil {
		return nil, err
	}
	return &Builder{b: b, root: root, cache: c}, nil
}

// Build builds the context tar r per opts and returns the image ID. The
// context is extracted to a temp dir that is removed before Build returns;
// a cancelled ctx (client gone) stops the running step and cleans up.
func (bd *Builder) Build(ctx context.Context, r io.Reader, opts backend.BuildOptions, out Output) (digest.Digest, error) {
	for _, t := range opts.Tags {
		if err := validTag(t); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp(filepath.Join(bd.root, "tmp"), "ctx-")
	if err != nil {
		return "", errdefs.System(err)
	}
	defer os.RemoveAll(dir)
	bc, err := openContext(ctx, dir, r, opts.Dockerfile)
	if err != nil {
		return "", err
	}
	defer bc.close()
	plan, err := planBuild(bc.dockerfile, opts)
	if err != nil {
		return "", err
	}
	run := &build{bd: bd, ctx: ctx, opts: opts, out: out, bc: bc, plan: plan,
		stages: make([]*stageState, len(plan.stages)), shared: &shared{usedArgs: map[string]bool{}}}
	final, err := run.execute()
	if err != nil {
		return "", err
	}
	run.warnUnusedArgs()
	out.Aux(final.String())
	fmt.Fprintf(out, "Successfully built %s\n", short(final))
	for _, t := range opts.Tags {
		if err := bd.b.TagImage(ctx, final, t); err != nil {
			return "", err
		}
		fmt.Fprintf(out, "Successfully tagged %s\n", familiarTag(t))
	}
	return final, nil
}

// Prune empties the layer cache; the images it named stay until removed
// (intermediate images go with the images built on them). It returns the
// image IDs it forgot.
func (bd *Builder) Prune(ctx context.Context) ([]string, error) {
	return bd.cache.clear()
}

// CacheEntries is the number of cached steps, for system df.
func (bd *Builder) CacheEntries() int { return bd.cache.len() }

// CachedImages lists the images the cache names, each once.
func (bd *Builder) CachedImages() []digest.Digest { return bd.cache.images() }

func short(id digest.Digest) string {
	e := id.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}

func validTag(t string) error {
	if _, err := normalizeTag(t); err != nil {
		return errdefs.InvalidParameterf("invalid reference format: %s", t)
	}
	return nil
}

// warnUnusedArgs prints Docker's warning for --build-arg values no ARG
// consumed (the predefined proxy args excepted).
func (b *build) warnUnusedArgs() {
	var unused []string
	for k := range b.opts.BuildArgs {
		if !b.shared.usedArgs[k] && !builtinArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		fmt.Fprintf(b.out, "[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
	}
}

// builtinArgs may be passed without a matching ARG; they reach RUN's
// environment but not the image or the cache key (Docker's proxy args).
var builtinArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

func normalizeTag(t string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(t)
	if err != nil {
		return nil, err
	}
	if _, ok := named.(reference.Canonical); ok {
		return nil, fmt.Errorf("digest reference")
	}
	return reference.TagNameOnly(named), nil
}

// familiarTag is how Docker prints a tag it applied: "x" as "x:latest".
func familiarTag(t string) string {
	n, err := normalizeTag(t)
	if err != nil {
		return t
	}
	return reference.FamiliarString(n)
}
