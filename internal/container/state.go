package container

import (
	"fmt"
	"time"

	"berth/internal/errdefs"
)

// Status is the lifecycle position of a container.
type Status string

const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusRemoving   Status = "removing"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// State is persisted with the record. Times are zero until they happen.
type State struct {
	Status     Status
	Pid        int
	ExitCode   int
	Error      string
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
	// ManuallyStopped is set by stop, kill and rm -f so restart policies
	// leave the container be; a user start clears it.
	ManuallyStopped bool
	// Health is nil for a container without a healthcheck (health.go).
	Health *Health `json:",omitempty"`
}

// legal lists the transitions the daemon may make; everything else is a bug
// or a race that must surface as an error rather than a corrupt record.
var legal = map[Status][]Status{
	StatusCreated:    {StatusRunning, StatusRemoving, StatusCreated},
	StatusRunning:    {StatusExited, StatusPaused, StatusRestarting, StatusRunning},
	StatusPaused:     {StatusRunning, StatusExited, StatusRestarting},
	StatusRestarting: {StatusRunning, StatusExited, StatusRemoving},
	StatusExited:     {StatusRunning, StatusRemoving, StatusRestarting, StatusExited},
	StatusRemoving:   {StatusDead, StatusExited, StatusCreated},
	StatusDead:       {StatusRemoving},
}

func (s *State) to(next Status) error {
	for _, n := range legal[s.Status] {
		if n == next {
			s.Status = next
			return nil
		}
	}
	return errdefs.Conflict(fmt.Errorf("invalid container state transition %s -> %s", s.Status, next))
}

// SetRunning records a successful start.
func (s *State) SetRunning(pid int, at time.Time) error {
	if err := s.to(StatusRunning); err != nil {
		return err
	}
	s.Pid, s.StartedAt, s.ExitCode, s.Error, s.OOMKilled = pid, at, 0, "", false
	s.FinishedAt = time.Time{}
	return nil
}

// SetExited records the end of the main process.
func (s *State) SetExited(code int, oom bool, at time.Time) error {
	if err := s.to(StatusExited); err != nil {
		return err
	}
	s.Pid, s.ExitCode, s.OOMKilled, s.FinishedAt = 0, code, oom, at
	return nil
}

// SetRestarting records an exit after which the restart policy will start
// the container again: no process exists, but the container counts as up
// for ps and is waiting out its back-off delay.
func (s *State) SetRestarting(code int, oom bool, at time.Time) error {
	if err := s.to(StatusRestarting); err != nil {
		return err
	}
	s.Pid, s.ExitCode, s.OOMKilled, s.FinishedAt = 0, code, oom, at
	return nil
}

// SetRestartCanceled ends a pending restart (stop, kill, rm -f, or a restart
// that could not start): the container is exited with the status of its
// last run.
func (s *State) SetRestartCanceled() error {
	if s.Status != StatusRestarting {
		return errdefs.Conflict(fmt.Errorf("container is not restarting (%s)", s.Status))
	}
	return s.to(StatusExited)
}

// SetStartFailed keeps a container that never ran in its previous state with
// the error and Docker's exit code for it (127 not found, 126 not runnable).
func (s *State) SetStartFailed(code int, msg string) {
	s.ExitCode, s.Error = code, msg
}

// SetRemoving marks a removal in progress; it fails if one already is.
func (s *State) SetRemoving() error {
	if s.Status == StatusRemoving {
		return errdefs.Conflict(fmt.Errorf("removal of container is already in progress"))
	}
	return s.to(StatusRemoving)
}

// ResumeRemoval takes up a removal a previous daemon left unfinished: a
// container already marked removing stays so; dead ones become removing.
func (s *State) ResumeRemoval() error {
	if s.Status == StatusRemoving {
		return nil
	}
	return s.SetRemoving()
}

// IsRunning covers every state in which a process exists.
func (s *State) IsRunning() bool {
	return s.Status == StatusRunning || s.Status == StatusPaused
}

// SetPaused records a running container whose processes are now frozen.
func (s *State) SetPaused() error {
	switch s.Status {
	case StatusPaused:
		return errdefs.Conflict(fmt.Errorf("container is already paused"))
	case StatusRunning:
		return s.to(StatusPaused)
	}
	return errdefs.Conflict(fmt.Errorf("container is not running"))
}

// SetUnpaused records a paused container whose processes run again; its
// StartedAt and pid stay those of the run that was paused.
func (s *State) SetUnpaused() error {
	if s.Status != StatusPaused {
		return errdefs.Conflict(fmt.Errorf("container is not paused"))
	}
	return s.to(StatusRunning)
}
