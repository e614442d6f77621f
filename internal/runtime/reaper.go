package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsInitRole reports whether argv0 names the --init role: berth's binary
// bind-mounted as /sbin/docker-init.
func IsInitRole(argv0 string) bool {
	return filepath.Base(argv0) == filepath.Base(InitDestination)
}

// RunInit is the --init role, PID 1 of a container: it starts "-- cmd
// args..." in its own process group (the terminal's foreground group when
// stdin is one), forwards every signal it gets to it, reaps every process
// that is re-parented to it, and exits with the command's status (128+n
// for a signal), as tini does for Docker.
func RunInit(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "docker-init: usage: docker-init -- COMMAND [ARG...]")
		return 1
	}
	// Registered before the fork, so no SIGCHLD or forwarded signal is
	// lost. Notify (not Ignore) keeps the child's dispositions default.
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs)
	path, err := exec.LookPath(args[0])
	if err != nil {
		return initExecFailed(args[0], err)
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		sys.Foreground, sys.Ctty = true, 0
	}
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: sys,
	})
	if err != nil {
		return initExecFailed(args[0], err)
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			if code, done := reap(pid); done {
				return code
			}
		case syscall.SIGURG, syscall.SIGTTIN, syscall.SIGTTOU:
			// SIGURG is the Go runtime's own preemption signal; the
			// terminal job-control signals are not the child's business.
		default:
			_ = syscall.Kill(pid, sig.(syscall.Signal))
		}
	}
	return 0
}

// reap collects every exited child; it reports the main child's status
// once that one is among them.
func reap(main int) (int, bool) {
	code, done := 0, false
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid != main {
			continue
		}
		done = true
		switch {
		case ws.Exited():
			code = ws.ExitStatus()
		case ws.Signaled():
			code = 128 + int(ws.Signal())
		}
	}
}

func initExecFailed(name string, err error) int {
	fmt.Fprintf(os.Stderr, "docker-init: exec %s failed: %v\n", name, err)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return 127
	}
	return 126
}
