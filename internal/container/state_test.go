package container

import (
	"testing"
	"time"

	"berth/internal/errdefs"
)

// TestRestartTransitions walks the restart policy's paths through the state
// machine: each step either lands in the wanted status or is refused as a
// Conflict with the record untouched.
func TestRestartTransitions(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	restarting := func(s *State) error { return s.SetRestarting(3, true, at) }
	running := func(s *State) error { return s.SetRunning(42, at) }
	exited := func(s *State) error { return s.SetExited(1, false, at) }
	canceled := func(s *State) error { return s.SetRestartCanceled() }
	removing := func(s *State) error { return s.SetRemoving() }
	resume := func(s *State) error { return s.ResumeRemoval() }
	tests := []struct {
		name string
		from Status
		step func(*State) error
		want Status // "" means refused
	}{
		{"running exits into restarting", StatusRunning, restarting, StatusRestarting},
		{"paused container killed, restarting", StatusPaused, restarting, StatusRestarting},
		{"restarting starts again", StatusRestarting, running, StatusRunning},
		{"restart canceled", StatusRestarting, canceled, StatusExited},
		{"rm -f of a restarting container", StatusRestarting, removing, StatusRemoving},
		{"exited container restarted at boot", StatusExited, restarting, StatusRestarting},
		{"created never restarts", StatusCreated, restarting, ""},
		{"cancel needs a pending restart", StatusExited, canceled, ""},
		{"cancel of a running container", StatusRunning, canceled, ""},
		{"restarting cannot exit again", StatusRestarting, restarting, ""},
		{"restarting to exited", StatusRestarting, exited, StatusExited},
		{"removing never restarts", StatusRemoving, restarting, ""},
		{"second removal refused", StatusRemoving, removing, ""},
		{"interrupted removal resumed", StatusRemoving, resume, StatusRemoving},
		{"dead container removal resumed", StatusDead, resume, StatusRemoving},
		{"resume needs a removal", StatusRunning, resume, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Status: tt.from, Pid: 7, ExitCode: 9}
			before := s
			err := tt.step(&s)
			if tt.want == "" {
				if !errdefs.IsConflict(err) {
					t.Fatalf("want conflict, got %v", err)
				}
				if s != before {
					t.Fatalf("refused step changed the state: %+v", s)
				}
				return
			}
			if err != nil || s.Status != tt.want {
				t.Fatalf("got %s, %v; want %s", s.Status, err, tt.want)
			}
		})
	}
}

func TestSetRestartingRecordsExit(t *testing.T) {
	at := time.Now().UTC()
	s := State{Status: StatusRunning, Pid: 99, StartedAt: at.Add(-time.Second)}
	if err := s.SetRestarting(137, true, at); err != nil {
		t.Fatal(err)
	}
	if s.Pid != 0 || s.ExitCode != 137 || !s.OOMKilled || !s.FinishedAt.Equal(at) || s.IsRunning() {
		t.Fatalf("state %+v", s)
	}
	if err := s.SetRestartCanceled(); err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusExited || s.ExitCode != 137 || !s.FinishedAt.Equal(at) {
		t.Fatalf("cancel lost the exit: %+v", s)
	}
}

// TestPauseTransitions: pause and unpause keep the run (pid, start time) and
// refuse every other starting point as a Conflict.
func TestPauseTransitions(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	pause := func(s *State) error { return s.SetPaused() }
	unpause := func(s *State) error { return s.SetUnpaused() }
	exited := func(s *State) error { return s.SetExited(137, false, at) }
	tests := []struct {
		name string
		from Status
		step func(*State) error
		want Status // "" means refused
	}{
		{"pause running", StatusRunning, pause, StatusPaused},
		{"pause twice", StatusPaused, pause, ""},
		{"pause exited", StatusExited, pause, ""},
		{"pause created", StatusCreated, pause, ""},
		{"pause restarting", StatusRestarting, pause, ""},
		{"unpause paused", StatusPaused, unpause, StatusRunning},
		{"unpause running", StatusRunning, unpause, ""},
		{"unpause exited", StatusExited, unpause, ""},
		{"paused container killed", StatusPaused, exited, StatusExited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Status: tt.from, Pid: 7, StartedAt: at}
			before := s
			err := tt.step(&s)
			if tt.want == "" {
				if !errdefs.IsConflict(err) || s != before {
					t.Fatalf("want an untouched conflict, got %v, %+v", err, s)
				}
				return
			}
			if err != nil || s.Status != tt.want {
				t.Fatalf("got %s, %v; want %s", s.Status, err, tt.want)
			}
			if tt.want != StatusExited && (s.Pid != 7 || !s.StartedAt.Equal(at)) {
				t.Fatalf("run not kept: %+v", s)
			}
		})
	}
}
