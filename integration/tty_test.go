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
