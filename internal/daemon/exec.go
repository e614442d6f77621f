package daemon

import (
	"berth/internal/shim"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/runtime"
)

// This file holds exec: extra processes in a running container. Records
// live in memory only (like Docker's, they do not survive the daemon) and
// are dropped when their container exits. The process itself is started by
// runtime.Exec from the shim's libcontainer state; the daemon is its parent.

// execTable holds the exec records; its zero value is ready to use.
type execTable struct {
	mu      sync.Mutex
	records map[string]*execRecord
}

type execRecord struct {
	id, containerID string
	req             apicontainer.ExecCreateRequest

	mu       sync.Mutex // guards the fields below
	started  bool
	running  bool
	pid      int
	exitCode *int
}

func (t *execTable) add(r *execRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.records == nil {
		t.records = map[string]*execRecord{}
	}
	t.records[r.id] = r
}

func (t *execTable) get(id string) (*execRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.records[id]; ok {
		return r, nil
	}
	return nil, errdefs.NotFoundf("No such exec instance: %s", id)
}

// dropContainer forgets every exec of a container.
func (t *execTable) dropContainer(containerID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, r := range t.records {
		if r.containerID == containerID {
			delete(t.records, id)
		}
	}
}

// activeForExec returns a container an exec may run in, or Docker's 409s.
func (s *Containers) activeForExec(ref string) (*container.Snapshot, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, err
	}
	switch {
	case snap.State.Status == container.StatusRestarting:
		return nil, errdefs.Conflictf("Container %s is restarting, wait until the container is running", snap.ID)
	case !snap.State.IsRunning() || snap.State.Pid <= 0:
		return nil, errdefs.Conflictf("container %s is not running", snap.ID)
	case snap.State.Status == container.StatusPaused:
		return nil, errdefs.Conflictf("Container %s is paused, unpause the container before exec", snap.ID)
	}
	return snap, nil
}

// ExecCreate records an exec for a running container and returns its ID.
func (s *Containers) ExecCreate(ctx context.Context, ref string, req apicontainer.ExecCreateRequest) (string, error) {
	if len(req.Cmd) == 0 || req.Cmd[0] == "" {
		return "", errdefs.InvalidParameterf("No exec command specified")
	}
	for _, kv := range req.Env {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return "", errdefs.InvalidParameterf("invalid environment variable: %s", kv)
		}
	}
	snap, err := s.activeForExec(ref)
	if err != nil {
		return "", err
	}
	if req.Tty {
		return "", errdefs.NotImplemented(errors.New("exec with a TTY (-t) is not implemented yet"))
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errdefs.System(err)
	}
	r := &execRecord{id: hex.EncodeToString(b), containerID: snap.ID, req: req}
	s.execs.add(r)
	s.publish(snap, apievents.Action(string(apievents.ActionExecCreate)+": "+strings.Join(req.Cmd, " ")),
		map[string]string{"execID": r.id})
	return r.id, nil
}

// ExecStart runs an exec. Validation failures are returned before ready is
// called; ready is where the API takes over the connection. With Detach the
// process is left running and ExecStart returns once it started; otherwise
// it returns when the process exited and its output was written. A process
// that could not be started gets exit code 126 or 127 and its error is
// returned after ready, like Docker's.
func (s *Containers) ExecStart(ctx context.Context, execID string, detach bool, ready func() error, stdin io.Reader, stdout, stderr io.Writer) error {
	r, err := s.execs.get(execID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		if r.running {
			return errdefs.Conflictf("Error: Exec command %s is already running", execID)
		}
		return errdefs.Conflictf("Error: Exec command %s has already run", execID)
	}
	r.started = true
	r.mu.Unlock()
	snap, err := s.activeForExec(r.containerID)
	if err != nil {
		r.mu.Lock()
		r.started = false
		r.mu.Unlock()
		return err
	}
	if ready != nil {
		if err := ready(); err != nil {
			return err
		}
	}
	p, err := s.execProcess(ctx, snap, r.req)
	if err != nil {
		s.execFailed(snap, r, err)
		return err
	}
	if !r.req.AttachStdin || detach {
		stdin = nil
	}
	if detach || !r.req.AttachStdout {
		stdout = nil
	}
	if detach || !r.req.AttachStderr {
		stderr = nil
	}
	pid, wait, err := runtime.Exec(ctx, shim.RuntimeStateRoot(s.stateDir(snap.ID)), snap.ID, p, stdin, stdout, stderr)
	if err != nil {
		s.execFailed(snap, r, err)
		return err
	}
	r.mu.Lock()
	r.running, r.pid = true, pid
	r.mu.Unlock()
	s.publish(snap, apievents.Action(string(apievents.ActionExecStart)+": "+strings.Join(r.req.Cmd, " ")),
		map[string]string{"execID": r.id})
	finish := func() {
		code, err := wait()
		if err != nil {
			s.log.Warn("waiting for exec", "container", snap.ID, "exec", r.id, "err", err)
		}
		r.mu.Lock()
		r.running, r.exitCode = false, &code
		r.mu.Unlock()
		s.publish(snap, apievents.ActionExecDie, map[string]string{"execID": r.id, "exitCode": fmt.Sprint(code)})
	}
	if detach {
		go finish()
		return nil
	}
	finish()
	return nil
}

func (s *Containers) execFailed(snap *container.Snapshot, r *execRecord, err error) {
	code := runtime.ExecExitCode(err)
	r.mu.Lock()
	r.running, r.exitCode = false, &code
	r.mu.Unlock()
	s.publish(snap, apievents.ActionExecDie, map[string]string{"execID": r.id, "exitCode": fmt.Sprint(code)})
}

// execProcess resolves the exec's user and environment in the container.
func (s *Containers) execProcess(ctx context.Context, snap *container.Snapshot, req apicontainer.ExecCreateRequest) (runtime.ExecProcess, error) {
	rootfs, err := s.images.Mount(ctx, snap.ID)
	if err != nil {
		return runtime.ExecProcess{}, err
	}
	userSpec := req.User
	if userSpec == "" {
		userSpec = snap.Config.User
	}
	user, err := runtime.ResolveUser(rootfs, userSpec)
	if err != nil {
		return runtime.ExecProcess{}, err
	}
	// Like Docker, an exec keeps the container's --group-add groups.
	gids, err := runtime.ResolveGroups(rootfs, snap.HostConfig.GroupAdd)
	if err != nil {
		return runtime.ExecProcess{}, err
	}
	user.AdditionalGids = append(user.AdditionalGids, gids...)
	cwd := req.WorkingDir
	if cwd == "" {
		cwd = snap.Config.WorkingDir
	}
	return runtime.ExecProcess{
		Args: req.Cmd,
		Env:  runtime.ExecEnv(snap.Config.Env, snap.Config.Hostname, user, req.Env),
		Cwd:  cwd, User: user,
		Privileged: req.Privileged, Host: s.host,
	}, nil
}

// ExecInspect describes an exec.
func (s *Containers) ExecInspect(ctx context.Context, execID string) (*apicontainer.ExecInspectResponse, error) {
	r, err := s.execs.get(execID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	priv := r.req.Privileged
	resp := &apicontainer.ExecInspectResponse{
		ID: r.id, Running: r.running, Pid: r.pid, ContainerID: r.containerID,
		OpenStdin: r.req.AttachStdin, OpenStdout: r.req.AttachStdout, OpenStderr: r.req.AttachStderr,
		DetachKeys: []byte(r.req.DetachKeys),
		ProcessConfig: &apicontainer.ExecProcessConfig{
			Tty: r.req.Tty, Entrypoint: r.req.Cmd[0], Arguments: append([]string{}, r.req.Cmd[1:]...),
			Privileged: &priv, User: r.req.User,
		},
	}
	if r.exitCode != nil {
		c := *r.exitCode
		resp.ExitCode = &c
	}
	return resp, nil
}

// ExecResize would resize an exec's terminal; without a TTY there is
// nothing to resize.
func (s *Containers) ExecResize(ctx context.Context, execID string, height, width uint) error {
	r, err := s.execs.get(execID)
	if err != nil {
		return err
	}
	if !r.req.Tty {
		return nil
	}
	return errdefs.NotImplemented(errors.New("exec with a TTY (-t) is not implemented yet"))
}
