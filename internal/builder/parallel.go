package builder

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
)

// execute runs the planned stages and returns the target's image. Stages
// run as soon as the stages they need are built, so independent stages
// build in parallel (beyond Docker's classic builder); their output is
// still printed stage by stage in Dockerfile order, with the step numbers
// a sequential build would print: the stage at the head of that order
// streams live, the others are held until their turn.
func (b *build) execute() (digest.Digest, error) {
	for i := range b.plan.metaArgs {
		b.header(b.plan.metaArgs[i].String())
		for _, kv := range b.plan.metaArgs[i].Args {
			b.useArg(kv.Key)
		}
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	n := len(b.plan.stages)
	done := make([]chan struct{}, n)
	errs := make([]error, n)
	outs := make([]*stageOut, n)
	first := b.step
	// cause is the first failure in time: the stages it cancelled fail
	// with errors of their own that are not the build's.
	var causeOnce sync.Once
	var cause error
	causeIdx := -1
	for _, i := range b.plan.order {
		done[i], outs[i] = make(chan struct{}), &stageOut{}
	}
	for _, i := range b.plan.order {
		run := *b
		run.ctx, run.out, run.step = ctx, outs[i], first
		first += 1 + len(b.plan.stages[i].Commands)
		go func(i int, run *build) {
			defer close(done[i])
			for _, j := range b.plan.deps[i] {
				<-done[j]
				if errs[j] != nil {
					errs[i] = errDependency
					return
				}
			}
			if errs[i] = run.buildStage(i); errs[i] != nil {
				causeOnce.Do(func() { cause, causeIdx = errs[i], i })
				cancel() // the build fails: stop the other stages
			}
		}(i, &run)
	}
	printed := map[int]bool{}
	stopped := false
	for _, i := range b.plan.order {
		// After a failure the rest only winds down (its containers go);
		// its output is dropped.
		if !stopped {
			outs[i].goLive(b.out)
		}
		<-done[i]
		if stopped {
			continue
		}
		outs[i].goLive(b.out)
		printed[i] = true
		stopped = errs[i] != nil
	}
	if cause != nil {
		if !printed[causeIdx] {
			outs[causeIdx].goLive(b.out)
		}
		return "", cause
	}
	if err := b.ctx.Err(); err != nil {
		return "", err
	}
	st := b.stages[b.plan.target]
	if st == nil || st.imageID == "" {
		return "", errdefs.InvalidParameterf("No image was generated. Is your Dockerfile empty?")
	}
	return st.imageID, nil
}

// errDependency marks a stage skipped because a stage it needs failed.
var errDependency = errors.New("a stage this stage needs failed")

// stageOut holds a stage's output until the stage is at the head of the
// print order, then passes it through.
type stageOut struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	live Output
}

func (s *stageOut) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != nil {
		return s.live.Write(p)
	}
	return s.buf.Write(p)
}

// Aux is not used by stages: only the whole build reports an ID.
func (s *stageOut) Aux(string) {}

func (s *stageOut) goLive(w Output) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 0 {
		w.Write(s.buf.Bytes())
		s.buf.Reset()
	}
	s.live = w
}
