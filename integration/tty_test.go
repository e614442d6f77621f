package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"berth/internal/testutil"
)

// TestRunInteractiveShell: `run -it --rm busybox sh` is a real terminal.
func TestRunInteractiveShell(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, which := range ptyCLIs(t) {
		t.Run(which, func(t *testing.T) {
			p := startPTY(t, d, which, "run", "-it", "--rm", "busybox", "sh")
			p.expect("/ # ")
			p.send("echo h''i\r")
			p.expect("hi\r\n")
			p.expect("/ # ")
			p.send("stty size\r")
			p.expect("24 80\r\n")
			// The window grows: SIGWINCH reaches the CLI, which resizes.
			pty.Setsize(p.tty, &pty.Winsize{Rows: 30, Cols: 100})
			deadline := time.Now().Add(10 * time.Second)
			for {
				p.expect("/ # ")
				p.send("stty size\r")
				p.expect("\r\n")
				p.expect("\r\n")
				if strings.Contains(p.screen(), "30 100\r\n") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("size never followed the terminal:\n%q", p.screen())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Ctrl-C goes to the shell's foreground job, not the CLI.
			p.expect("/ # ")
			p.send("sleep 100\r")
			time.Sleep(300 * time.Millisecond)
			p.send("\x03")
			p.expect("/ # ")
			p.send("echo alive\r")
			p.expect("alive\r\n")
			p.send("exit 3\r")
			if code := p.wait(); code != 3 {
				t.Fatalf("exit code %d, want 3; screen:\n%q", code, p.screen())
			}
		})
	}
}

// TestAttachDetach: a container started with -dit is attached, used and
// left with ctrl-p ctrl-q; it keeps running, and two clients see the same
// output.
func TestAttachDetach(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "att")
			must(t, c, "run", "-dit", "--name", name, "busybox", "sh")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			a := startPTY(t, d, c.name, "attach", name)
			b := startPTY(t, d, c.name, "attach", "--no-stdin", name)
			time.Sleep(500 * time.Millisecond)
			a.send("echo sh''ared\r")
			a.expect("shared\r\n")
			// b's terminal is not in raw mode (no stdin): its own line
			// discipline adds a \r, with Docker's CLI too.
			b.expect("shared\r")
			a.send("\x10\x11")
			code := a.wait()
			if !strings.Contains(a.screen(), "read escape sequence") {
				t.Errorf("detach: screen %q", a.screen())
			}
			if code != 1 {
				t.Errorf("attach exit code after detach: %d, want 1 (Docker's)", code)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Running}}", name); got != "true" {
				t.Fatalf("after detach: running=%s", got)
			}
			// Still usable from the second client's view.
			a2 := startPTY(t, d, c.name, "attach", name)
			time.Sleep(300 * time.Millisecond)
			a2.send("echo again\r")
			a2.expect("again\r\n")
			b.expect("again\r")
			a2.send("exit 0\r")
			if code := a2.wait(); code != 0 {
				t.Fatalf("attach after exit: code %d", code)
			}
			if code := b.wait(); code != 0 {
				t.Fatalf("--no-stdin attach: code %d", code)
			}
		})
	}
}

// TestRunStdinPipe: stdin EOF closes the container's stdin.
func TestRunStdinPipe(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, which := range []string{"berth", "docker"} {
		t.Run(which, func(t *testing.T) {
			run := d.BerthInput
			if which == "docker" {
				testutil.RequiresDocker(t)
				run = d.DockerInput
			}
			stdout, stderr, code := run(t, "hi\nthere\n", "run", "-i", "--rm", "busybox", "cat")
			if code != 0 || stdout != "hi\nthere\n" {
				t.Fatalf("echo | run -i cat: exit %d stdout %q stderr %q", code, stdout, stderr)
			}
			stdout, _, code = run(t, "x", "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done >&2; exit 6")
			if code != 6 || stdout != "x" {
				t.Fatalf("run -i sh: exit %d stdout %q", code, stdout)
			}
		})
	}
}

// TestExecInteractive: `exec -it box sh` is a terminal with the exit code
// of its shell; `exec -t` output is raw (no stdcopy frames), and the pty
// has the client's size.
func TestExecInteractive(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "ex")
			must(t, c, "run", "-d", "--name", name, "busybox", "sleep", "1000")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
			p := startPTY(t, d, c.name, "exec", "-it", name, "sh")
			p.expect("/ # ")
			p.send("stty size; echo e''x\r")
			p.expect("24 80\r\n")
			p.expect("ex\r\n")
			p.send("exit 5\r")
			if code := p.wait(); code != 5 {
				t.Fatalf("exec -it exit code %d, want 5; screen %q", code, p.screen())
			}
			// Without a terminal on the client: -t still gives the process
			// a pty, and the output comes back raw.
			stdout, _, code := c.run(t, "exec", "-t", name, "sh", "-c", "test -t 1 && echo tty")
			if code != 0 || stdout != "tty\r\n" {
				t.Fatalf("exec -t: exit %d stdout %q", code, stdout)
			}
			// Detach from an exec: the process keeps running.
			p = startPTY(t, d, c.name, "exec", "-it", name, "sh")
			p.expect("/ # ")
			p.send("touch /tmp/detached\r")
			p.expect("/ # ")
			p.send("\x10\x11")
			if code := p.wait(); code != 1 || !strings.Contains(p.screen(), "read escape sequence") {
				t.Errorf("exec detach: exit %d (want Docker's 1), screen %q", code, p.screen())
			}
			if got := must(t, c, "exec", name, "sh", "-c", "ls /tmp/detached; ps | grep -c '[s]h$'"); !strings.HasPrefix(got, "/tmp/detached") {
				t.Fatalf("after detach: %q", got)
			}
		})
	}
}
