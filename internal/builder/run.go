package builder

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
	"berth/internal/image"
)

// run executes RUN in a step container and commits its changes.
func (b *build) run(st *stageState, c *instructions.RunCommand) error {
	argv := st.commandLine(c.ShellDependantCmdLine)
	if c.PrependShell && len(c.Files) > 0 && strings.HasPrefix(strings.Join(c.CmdLine, " "), "<<") {
		// RUN <<EOF: the heredoc is the script.
		argv = append(st.shell(), c.Files[0].Data)
	}
	createdBy := strings.Join(argv, " ")
	if args := st.argPairs(); len(args) > 0 {
		// Docker's history form for a RUN with build args in scope.
		createdBy = fmt.Sprintf("|%d %s %s", len(args), strings.Join(args, " "), createdBy)
	}
	key := b.cacheKey(st, createdBy, "")
	if b.useCache(st, key) {
		return nil
	}
	parent, err := b.stepParent(st)
	if err != nil {
		return err
	}
	id, err := b.bd.b.CreateContainer(b.ctx, b.stepConfig(st, parent.String(), argv, b.runEnv(st)), b.hostConfig())
	if err != nil {
		return err
	}
	defer b.removeContainer(id)
	b.printf(" ---> Running in %s\n", id[:12])
	code, err := b.bd.b.RunContainer(b.ctx, id, b.out, b.out)
	if err != nil {
		return err
	}
	if code != 0 {
		return errdefs.InvalidParameterf("The command '%s' returned a non-zero code: %d", strings.Join(argv, " "), code)
	}
	img, err := b.bd.b.Commit(b.ctx, image.CommitOptions{
		Parent: parent, Container: id, Config: st.cfg, Author: st.author, CreatedBy: createdBy,
	})
	if err != nil {
		return err
	}
	b.removeContainer(id)
	b.printf(" ---> Removed intermediate container %s\n", id[:12])
	return b.stepDone(st, img, key)
}

// argPairs are the build args in scope as KEY=value, sorted.
func (st *stageState) argPairs() []string {
	out := make([]string, 0, len(st.args))
	for k, v := range st.args {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// runEnv is RUN's environment: the image's ENV, then the build args in
// scope (ENV wins), then proxy args given with --build-arg.
func (b *build) runEnv(st *stageState) []string {
	env := append([]string(nil), st.cfg.Env...)
	for _, kv := range st.argPairs() {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := envLookup(env, k); !set {
			env = append(env, kv)
		}
	}
	for k, v := range b.opts.BuildArgs {
		if builtinArgs[k] && v != nil {
			if _, set := envLookup(env, k); !set {
				env = append(env, k+"="+*v)
			}
		}
	}
	return env
}

// stepParent is the image a step container starts from.
func (b *build) stepParent(st *stageState) (digest.Digest, error) {
	if st.imageID != "" {
		return st.imageID, nil
	}
	return b.scratchBase()
}

// stepConfig is a step container's config: the step's argv run directly
// (no image entrypoint), no healthcheck.
func (b *build) stepConfig(st *stageState, img string, argv, env []string) *apicontainer.Config {
	return &apicontainer.Config{
		Image: img, Entrypoint: argv[:1], Cmd: argv[1:], Env: env,
		User: st.cfg.User, WorkingDir: st.cfg.WorkingDir,
		Healthcheck: &apicontainer.HealthConfig{Test: []string{"NONE"}},
		Labels:      map[string]string{},
	}
}

func (b *build) hostConfig() *apicontainer.HostConfig {
	hc := &apicontainer.HostConfig{
		NetworkMode: apicontainer.NetworkMode(b.opts.NetworkMode),
		ExtraHosts:  b.opts.ExtraHosts,
		ShmSize:     b.opts.ShmSize,
		LogConfig:   apicontainer.LogConfig{Type: "json-file"},
	}
	if hc.NetworkMode == "" || hc.NetworkMode == "default" {
		hc.NetworkMode = "bridge"
	}
	hc.Ulimits = b.opts.Ulimits
	return hc
}

// removeContainer removes a step container even when the build was
// cancelled; removing twice is harmless.
func (b *build) removeContainer(id string) {
	ctx := context.WithoutCancel(b.ctx)
	if err := b.bd.b.RemoveContainer(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		fmt.Fprintf(b.out, "failed to remove intermediate container %s: %v\n", id[:12], err)
	}
}

// withRootfs creates a step container that never runs, lets fn change its
// mounted rootfs, and commits the result.
func (b *build) withRootfs(st *stageState, createdBy string, fn func(root string) error) (*image.Image, error) {
	parent, err := b.stepParent(st)
	if err != nil {
		return nil, err
	}
	argv := []string{"/bin/sh", "-c", "#(nop) " + strings.TrimPrefix(createdBy, "/bin/sh -c #(nop) ")}
	id, err := b.bd.b.CreateContainer(b.ctx, b.stepConfig(st, parent.String(), argv, st.cfg.Env), b.hostConfig())
	if err != nil {
		return nil, err
	}
	defer b.removeContainer(id)
	root, err := b.bd.b.MountContainer(b.ctx, id)
	if err != nil {
		return nil, err
	}
	ferr := fn(root)
	if err := b.bd.b.UnmountContainer(context.WithoutCancel(b.ctx), id); err != nil && ferr == nil {
		ferr = err
	}
	if ferr != nil {
		return nil, ferr
	}
	return b.bd.b.Commit(b.ctx, image.CommitOptions{
		Parent: parent, Container: id, Config: st.cfg, Author: st.author, CreatedBy: createdBy,
	})
}
