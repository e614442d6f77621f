package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"berth/internal/testutil"
)

// ptySession is a CLI running on a real pty, driven the way a person at a
// terminal would: type, then look at the screen.
type ptySession struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	tty  *os.File

	mu     sync.Mutex
	out    bytes.Buffer // everything the terminal showed
	mark   int          // expect looks at out[mark:]
	done   chan struct{}
	exited chan struct{}
	code   int
}

// ptyCLI names the CLIs a pty test drives (berth, and docker when on PATH).
func ptyCLIs(t *testing.T) []string {
	out := []string{"berth"}
	if _, err := exec.LookPath("docker"); err == nil {
		out = append(out, "docker")
	}
	return out
}

// startPTY runs `which args...` against d on a new 24x80 pty.
func startPTY(t *testing.T, d *testutil.Daemon, which string, args ...string) *ptySession {
	t.Helper()
	var cmd *exec.Cmd
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=xterm"}
	if which == "docker" {
		cmd = exec.Command("docker", append([]string{"-H", d.Host}, args...)...)
		cfg := filepath.Join(t.TempDir(), "docker-config")
		os.MkdirAll(cfg, 0o700)
		env = append(env, "DOCKER_CONFIG="+cfg, "DOCKER_CLI_HINTS=false")
	} else {
		cmd = exec.Command(d.Binary, args...)
		env = append(env, "BERTH_HOST="+d.Host)
	}
	cmd.Env = env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptySession{t: t, name: which, cmd: cmd, tty: f, done: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		f.Close()
	})
	return p
}

// expect waits until the terminal shows want after the last match.
func (p *ptySession) expect(want string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		seen := p.out.String()[p.mark:]
		if i := strings.Index(seen, want); i >= 0 {
			p.mark += i + len(want)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: terminal never showed %q; it shows:\n%q", p.name, want, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *ptySession) send(s string) {
	p.t.Helper()
	if _, err := p.tty.Write([]byte(s)); err != nil {
		p.t.Fatalf("%s: type %q: %v", p.name, s, err)
	}
}

// wait returns the CLI's exit code.
func (p *ptySession) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.mu.Lock()
		seen := p.out.String()
		p.mu.Unlock()
		p.t.Fatalf("%s: did not exit; terminal shows:\n%q", p.name, seen)
	}
	// The last output may still be on its way from the pty.
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
	return p.code
}

// screen is everything shown so far.
func (p *ptySession) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}
