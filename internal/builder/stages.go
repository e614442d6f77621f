package builder

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// plan is a parsed Dockerfile and the stages one build runs.
type plan struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	metaEnv  map[string]string // ARGs before the first FROM, resolved
	escape   rune
	order    []int // stage indices to build, dependencies first
	target   int
	total    int // steps printed as "Step N/total"
}

// planBuild parses the Dockerfile and picks the target stage and the
// stages it depends on; the others are not built.
func planBuild(dockerfile []byte, opts backend.BuildOptions) (*plan, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, errdefs.InvalidParameterf("failed to parse Dockerfile: %v", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if len(stages) == 0 {
		return nil, errdefs.InvalidParameterf("Dockerfile contains no build stages")
	}
	p := &plan{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken, metaEnv: map[string]string{}}
	lex := shell.NewLex(p.escape)
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v := ""
			if kv.Value != nil {
				w, _, err := lex.ProcessWord(*kv.Value, mapEnv(p.metaEnv))
				if err != nil {
					return nil, errdefs.InvalidParameter(err)
				}
				v = w
			}
			if bv, ok := opts.BuildArgs[kv.Key]; ok && bv != nil {
				v = *bv
			}
			p.metaEnv[kv.Key] = v
		}
	}
	p.target = len(stages) - 1
	if opts.Target != "" {
		i, ok := instructions.HasStage(stages, strings.ToLower(opts.Target))
		if !ok {
			return nil, errdefs.InvalidParameterf("failed to reach build target %s in Dockerfile", opts.Target)
		}
		p.target = i
	}
	if len(opts.Labels) > 0 {
		addLabels(&p.stages[p.target], opts.Labels)
	}
	needed := map[int]bool{}
	if err := p.need(p.target, needed, lex); err != nil {
		return nil, err
	}
	for i := range stages {
		if needed[i] {
			p.order = append(p.order, i)
			p.total += 1 + len(stages[i].Commands)
		}
	}
	p.total += len(metaArgs)
	return p, nil
}

// addLabels appends --label values as a LABEL step, as Docker's classic
// builder does.
func addLabels(st *instructions.Stage, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kvs instructions.KeyValuePairs
	var text []string
	for _, k := range keys {
		kvs = append(kvs, instructions.KeyValuePair{Key: k, Value: labels[k]})
		text = append(text, fmt.Sprintf("%q='%s'", k, labels[k]))
	}
	st.AddCommand(&labelStep{text: "LABEL " + strings.Join(text, " "), labels: kvs})
}

// labelStep is a LABEL the build adds itself (no source line).
type labelStep struct {
	text   string
	labels instructions.KeyValuePairs
}

func (l *labelStep) Name() string             { return "label" }
func (l *labelStep) Location() []parser.Range { return nil }
func (l *labelStep) String() string           { return l.text }
func (l *labelStep) Comments() []string       { return nil }
func (l *labelStep) labelCommand() *instructions.LabelCommand {
	return &instructions.LabelCommand{Labels: l.labels}
}

// need marks stage i and, recursively, the stages it builds on or copies
// from.
func (p *plan) need(i int, needed map[int]bool, lex *shell.Lex) error {
	if needed[i] {
		return nil
	}
	needed[i] = true
	st := p.stages[i]
	base, _, err := lex.ProcessWord(st.BaseName, mapEnv(p.metaEnv))
	if err != nil {
		return errdefs.InvalidParameter(err)
	}
	if j, ok := p.stageRef(base, i); ok {
		if err := p.need(j, needed, lex); err != nil {
			return err
		}
	}
	for _, c := range st.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
			if j, ok := p.stageRef(cp.From, i); ok {
				if err := p.need(j, needed, lex); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stageRef resolves a stage name or index used in stage cur: only earlier
// stages count, as in Docker.
func (p *plan) stageRef(name string, cur int) (int, bool) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, n >= 0 && n < cur
	}
	for j := 0; j < cur; j++ {
		if p.stages[j].Name != "" && strings.EqualFold(p.stages[j].Name, name) {
			return j, true
		}
	}
	return 0, false
}

// mapEnv adapts a map to shell.EnvGetter.
type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
