package builder

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// defaultPath is what Docker gives a stage whose base sets no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var defaultShell = []string{"/bin/sh", "-c"}

// build is one running build.
type build struct {
	bd     *Builder
	ctx    context.Context
	opts   backend.BuildOptions
	out    Output
	bc     *buildContext
	plan   *plan
	stages []*stageState // by stage index, set once the stage is built
	shared *shared
	step   int // the last step number printed by this stage's run
}

// shared is what the concurrently built stages of one build share.
type shared struct {
	mu       sync.Mutex
	usedArgs map[string]bool
	scratch  digest.Digest  // the empty image FROM scratch steps run on
	sources  []*image.Image // --cache-from images and their parents
}

func (b *build) useArg(k string) {
	b.shared.mu.Lock()
	b.shared.usedArgs[k] = true
	b.shared.mu.Unlock()
}

// stageState is a stage's image and what the Dockerfile set so far.
type stageState struct {
	imageID digest.Digest // "" while a FROM scratch stage has no image yet
	cfg     dockerspec.DockerOCIImageConfig
	author  string
	args    map[string]string // ARGs declared in this stage, with values
	cmdSet  bool              // CMD given in this stage (ENTRYPOINT keeps it)
	lex     *shell.Lex
	index   int // the stage's position in the Dockerfile
}

func (b *build) printf(format string, a ...any) {
	// -q is the API's business: it holds the text back unless the build
	// fails.
	fmt.Fprintf(b.out, format, a...)
}

func (b *build) header(text string) {
	b.step++
	b.printf("Step %d/%d : %s\n", b.step, b.plan.total, text)
}

func (b *build) buildStage(i int) error {
	stage := &b.plan.stages[i]
	b.header(stage.SourceCode)
	st, err := b.from(i, stage)
	if err != nil {
		return err
	}
	if st.imageID != "" {
		b.printf(" ---> %s\n", short(st.imageID))
	} else {
		b.printf(" ---> \n")
	}
	if err := b.runTriggers(st); err != nil {
		return err
	}
	for _, cmd := range stage.Commands {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		b.header(commandText(cmd))
		if err := b.dispatch(st, cmd); err != nil {
			return err
		}
	}
	b.stages[i] = st
	return nil
}

func commandText(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}

// from starts a stage on an image, an earlier stage or nothing.
func (b *build) from(i int, stage *instructions.Stage) (*stageState, error) {
	st := &stageState{args: map[string]string{}, lex: shell.NewLex(b.plan.escape), index: i}
	base, _, err := st.lex.ProcessWord(stage.BaseName, mapEnv(b.plan.metaEnv))
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	switch j, isStage := b.plan.stageRef(base, i); {
	case isStage:
		prev := b.stages[j]
		st.imageID, st.cfg, st.author = prev.imageID, prev.cfg, prev.author
	case strings.EqualFold(base, "scratch"):
	case base == "":
		return nil, errdefs.InvalidParameterf("base name (%s) should not be blank", stage.BaseName)
	default:
		img, err := b.baseImage(base)
		if err != nil {
			return nil, err
		}
		st.imageID, st.cfg, st.author = img.ID, img.Config.Config, img.Config.Author
	}
	st.cfg = cloneConfig(st.cfg)
	if _, ok := envLookup(st.cfg.Env, "PATH"); !ok {
		st.cfg.Env = append(st.cfg.Env, "PATH="+defaultPath)
	}
	return st, nil
}

// runTriggers runs the base image's ONBUILD instructions, which the new
// image does not inherit.
func (b *build) runTriggers(st *stageState) error {
	triggers := st.cfg.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	st.cfg.OnBuild = nil
	s := "s"
	if len(triggers) == 1 {
		s = ""
	}
	b.printf("# Executing %d build trigger%s\n", len(triggers), s)
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return errdefs.InvalidParameter(err)
		}
		for _, n := range res.AST.Children {
			switch strings.ToLower(n.Value) {
			case "onbuild", "from", "maintainer":
				return errdefs.InvalidParameterf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(n.Value))
			}
			cmd, err := instructions.ParseCommand(n)
			if err != nil {
				return errdefs.InvalidParameter(err)
			}
			if err := b.dispatch(st, cmd); err != nil {
				return err
			}
		}
	}
	return nil
}

// env is the stage's environment for expansion: ENV wins over ARG.
func (st *stageState) env() mapEnv {
	m := mapEnv{}
	for k, v := range st.args {
		m[k] = v
	}
	for _, kv := range st.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func (st *stageState) expand(word string) (string, error) {
	w, _, err := st.lex.ProcessWord(word, st.env())
	return w, err
}

// dispatch runs one instruction: the single switch over instruction types.
func (b *build) dispatch(st *stageState, cmd instructions.Command) error {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(st.expand); err != nil {
			return errdefs.InvalidParameter(err)
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(st.expand); err != nil {
			return errdefs.InvalidParameter(err)
		}
	}
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		return b.run(st, c)
	case *instructions.CopyCommand:
		return b.copy(st, copyRequest{cmd: "COPY", sd: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod, text: c.String()})
	case *instructions.AddCommand:
		return b.copy(st, copyRequest{cmd: "ADD", sd: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, text: c.String(), add: true})
	case *instructions.WorkdirCommand:
		return b.workdir(st, c)
	case *instructions.ArgCommand:
		return b.arg(st, c)
	}
	if err := b.applyMeta(st, cmd); err != nil {
		return err
	}
	return b.commitMeta(st, commandText(cmd))
}

// applyMeta changes the config for the instructions that only do that.
func (b *build) applyMeta(st *stageState, cmd instructions.Command) error {
	cfg := &st.cfg
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		setLabels(cfg, c.Labels)
	case *labelStep:
		setLabels(cfg, c.labels)
	case *instructions.MaintainerCommand:
		st.author = c.Maintainer
	case *instructions.ExposeCommand:
		if err := image.ApplyChanges(cfg, []string{"EXPOSE " + strings.Join(c.Ports, " ")}); err != nil {
			return err
		}
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return errdefs.InvalidParameterf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.CmdCommand:
		cfg.Cmd = st.commandLine(c.ShellDependantCmdLine)
		st.cmdSet = true
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = st.commandLine(c.ShellDependantCmdLine)
		if !st.cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.HealthCheckCommand:
		cfg.Healthcheck = c.Health
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.ShellCommand:
		cfg.Shell = c.Shell
	default:
		return errdefs.NotImplemented(fmt.Errorf("%s is not supported by this builder", strings.ToUpper(cmd.Name())))
	}
	return nil
}

// commandLine is an instruction's argv: shell form runs in SHELL.
func (st *stageState) commandLine(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	return append(st.shell(), strings.Join(c.CmdLine, " "))
}

func (st *stageState) shell() []string {
	if len(st.cfg.Shell) > 0 {
		return append([]string(nil), st.cfg.Shell...)
	}
	return append([]string(nil), defaultShell...)
}

func (b *build) arg(st *stageState, c *instructions.ArgCommand) error {
	for _, kv := range c.Args {
		b.useArg(kv.Key)
		if v, ok := b.opts.BuildArgs[kv.Key]; ok && v != nil {
			st.args[kv.Key] = *v
		} else if kv.Value != nil {
			st.args[kv.Key] = *kv.Value
		} else if v, ok := b.plan.metaEnv[kv.Key]; ok {
			st.args[kv.Key] = v
		}
	}
	return b.commitMeta(st, c.String())
}

// commitMeta commits a config-only step.
func (b *build) commitMeta(st *stageState, text string) error {
	createdBy := "/bin/sh -c #(nop) " + text
	key := b.cacheKey(st, createdBy, "")
	if b.useCache(st, key, createdBy) {
		return nil
	}
	img, err := b.bd.b.Commit(b.ctx, image.CommitOptions{
		Parent: st.imageID, Config: st.cfg, Author: st.author, CreatedBy: createdBy,
	})
	if err != nil {
		return err
	}
	return b.stepDone(st, img, key)
}

// stepDone records a step's image as the stage's and in the cache.
func (b *build) stepDone(st *stageState, img *image.Image, key string) error {
	st.imageID = img.ID
	st.cfg = cloneConfig(img.Config.Config)
	if err := b.bd.cache.put(key, img.ID); err != nil {
		return err
	}
	b.printf(" ---> %s\n", short(img.ID))
	return nil
}

// useCache adopts the cached image for key when there is one, else a
// --cache-from image made by the same step on the same parent.
func (b *build) useCache(st *stageState, key, createdBy string) bool {
	if b.opts.NoCache {
		return false
	}
	var img *image.Image
	if id, ok := b.bd.cache.get(key); ok {
		img, _ = b.bd.b.Image(b.ctx, id.String())
	}
	if img == nil {
		img = b.fromCacheSources(st.imageID, createdBy)
	}
	if img == nil {
		return false
	}
	b.printf(" ---> Using cache\n")
	st.imageID = img.ID
	st.cfg = cloneConfig(img.Config.Config)
	b.printf(" ---> %s\n", short(img.ID))
	return true
}

// fromCacheSources finds, in the parent chains of the --cache-from
// images, an image built on parent whose last step was createdBy.
func (b *build) fromCacheSources(parent digest.Digest, createdBy string) *image.Image {
	if len(b.opts.CacheFrom) == 0 || parent == "" {
		return nil
	}
	b.shared.mu.Lock()
	if b.shared.sources == nil {
		b.shared.sources = []*image.Image{}
		for _, ref := range b.opts.CacheFrom {
			img, err := b.bd.b.Image(b.ctx, ref)
			for seen := 0; err == nil && seen < 1000; seen++ {
				b.shared.sources = append(b.shared.sources, img)
				if img.Parent == "" {
					break
				}
				img, err = b.bd.b.Image(b.ctx, img.Parent.String())
			}
		}
	}
	sources := b.shared.sources
	b.shared.mu.Unlock()
	for _, img := range sources {
		h := img.Config.History
		if img.Parent == parent && len(h) > 0 && h[len(h)-1].CreatedBy == createdBy {
			return img
		}
	}
	return nil
}

// cacheKey identifies a step: the parent image, what the step does
// (expanded), the build args in scope and the content it copies.
func (b *build) cacheKey(st *stageState, createdBy, content string) string {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "parent %s\nstep %s\nauthor %s\n", st.imageID, createdBy, st.author)
	keys := make([]string, 0, len(st.args))
	for k := range st.args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&buf, "arg %s=%s\n", k, st.args[k])
	}
	// The config the step starts from: ENTRYPOINT's effect depends on
	// whether this stage set CMD, SHELL on what the base had.
	fmt.Fprintf(&buf, "cmdset %v\ncontent %s\n", st.cmdSet, content)
	return digest.FromBytes(buf.Bytes()).String()
}

// scratchBase is the empty image a FROM scratch stage's first layer goes
// on; it has a fixed creation time, so it is the same image every time.
func (b *build) scratchBase() (digest.Digest, error) {
	b.shared.mu.Lock()
	defer b.shared.mu.Unlock()
	if b.shared.scratch != "" {
		return b.shared.scratch, nil
	}
	img, err := b.bd.b.Commit(b.ctx, image.CommitOptions{NoHistory: true, Created: time.Unix(0, 0).UTC()})
	if err != nil {
		return "", err
	}
	b.shared.scratch = img.ID
	return img.ID, nil
}

func (b *build) workdir(st *stageState, c *instructions.WorkdirCommand) error {
	wd := c.Path
	if !path.IsAbs(wd) {
		base := st.cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		wd = path.Join(base, wd)
	}
	st.cfg.WorkingDir = path.Clean(wd)
	createdBy := "/bin/sh -c #(nop) WORKDIR " + st.cfg.WorkingDir
	key := b.cacheKey(st, createdBy, "")
	if b.useCache(st, key, createdBy) {
		return nil
	}
	img, err := b.withRootfs(st, createdBy, func(root string) error {
		return mkdirIn(root, st.cfg.WorkingDir)
	})
	if err != nil {
		return err
	}
	return b.stepDone(st, img, key)
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			out := append([]string(nil), env...)
			out[i] = k + "=" + v
			return out
		}
	}
	return append(append([]string(nil), env...), k+"="+v)
}

func envLookup(env []string, k string) (string, bool) {
	for _, kv := range env {
		if key, v, _ := strings.Cut(kv, "="); key == k {
			return v, true
		}
	}
	return "", false
}

func setLabels(cfg *dockerspec.DockerOCIImageConfig, kvs instructions.KeyValuePairs) {
	labels := map[string]string{}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	for _, kv := range kvs {
		labels[kv.Key] = kv.Value
	}
	cfg.Labels = labels
}

// cloneConfig deep-copies what dispatch mutates in place.
func cloneConfig(c dockerspec.DockerOCIImageConfig) dockerspec.DockerOCIImageConfig {
	c.Env = append([]string(nil), c.Env...)
	c.OnBuild = append([]string(nil), c.OnBuild...)
	if len(c.OnBuild) == 0 {
		c.OnBuild = nil
	}
	if len(c.Env) == 0 {
		c.Env = nil
	}
	if c.Volumes != nil {
		v := make(map[string]struct{}, len(c.Volumes))
		for k := range c.Volumes {
			v[k] = struct{}{}
		}
		c.Volumes = v
	}
	if c.ExposedPorts != nil {
		p := make(map[string]struct{}, len(c.ExposedPorts))
		for k := range c.ExposedPorts {
			p[k] = struct{}{}
		}
		c.ExposedPorts = p
	}
	return c
}

// baseImage resolves a FROM image, pulling it first with --pull or when it
// is not here (an image ID is never pulled).
func (b *build) baseImage(ref string) (*image.Image, error) {
	p, canPull := b.bd.b.(Puller)
	if !b.opts.Pull || !canPull {
		img, err := b.bd.b.Image(b.ctx, ref)
		if err == nil || !canPull || !errdefs.IsNotFound(err) || looksLikeImageID(ref) {
			return img, err
		}
	}
	if err := p.PullImage(b.ctx, ref, b.out); err != nil {
		return nil, err
	}
	return b.bd.b.Image(b.ctx, ref)
}

// looksLikeImageID reports a full or short hex image ID, which names a
// local image only.
func looksLikeImageID(ref string) bool {
	ref = strings.TrimPrefix(ref, "sha256:")
	if len(ref) < 12 || len(ref) > 64 {
		return false
	}
	for _, c := range ref {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
