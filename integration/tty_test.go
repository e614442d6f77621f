package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/creack/pty"
	"github.com/moby/moby/client"

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

// TestAttachBadInput: Docker's wording for what cannot be attached or
// resized, and nothing left running by a failed call.
func TestAttachBadInput(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	api := d.Client(t)
	ctx := context.Background()
	stopped := testutil.UniqueName(t, "stopped")
	plain := testutil.UniqueName(t, "plain")
	box := testutil.UniqueName(t, "box")
	d.Berth(t, "create", "--name", stopped, "busybox", "true")
	d.Berth(t, "run", "-d", "--name", plain, "busybox", "sleep", "1000")
	d.Berth(t, "run", "-dit", "--name", box, "busybox", "sh")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", stopped, plain, box) })
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := c.run(t, "attach", stopped)
			if code != 1 || !strings.Contains(stderr, "You cannot attach to a stopped container, start it first") {
				t.Errorf("attach stopped: exit %d stderr %q", code, stderr)
			}
			_, stderr, code = c.run(t, "attach", "--no-stdin", "--detach-keys", "ctrl-", box)
			// Both CLIs' client drops the body of a refused upgrade.
			if code != 1 || !strings.Contains(stderr, "received 400") {
				t.Errorf("attach bad keys: exit %d stderr %q", code, stderr)
			}
		})
	}
	// The API: a bad key spec is a 400 with Docker's wording, before any
	// hijack.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.Socket)
	}}}
	resp, err := hc.Post("http://berth/containers/"+box+"/attach?stream=1&stdout=1&detachKeys=ctrl-", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid detach keys (ctrl-) provided") {
		t.Errorf("attach with bad keys: %d %s", resp.StatusCode, body)
	}
	// exec: the same check at create, Docker's exec wording.
	if _, err := api.ExecCreate(ctx, box, client.ExecCreateOptions{Cmd: []string{"true"}, DetachKeys: "ctrl-"}); !cerrdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "Invalid escape keys (ctrl-) provided") {
		t.Errorf("exec create with bad keys: %v", err)
	}
	// Resizing an exec without a tty is harmless too.
	ex, err := api.ExecCreate(ctx, plain, client.ExecCreateOptions{Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ExecResize(ctx, ex.ID, client.ExecResizeOptions{Height: 5, Width: 5}); err != nil {
		t.Errorf("resize of a non-tty exec: %v", err)
	}
	// Resizing a container without a tty is harmless, as in Docker; a
	// stopped one is a conflict.
	if _, err := api.ContainerResize(ctx, plain, client.ContainerResizeOptions{Height: 10, Width: 10}); err != nil {
		t.Errorf("resize without a tty: %v", err)
	}
	if _, err := api.ContainerResize(ctx, stopped, client.ContainerResizeOptions{Height: 10, Width: 10}); !cerrdefs.IsConflict(err) {
		t.Errorf("resize of a stopped container: %v", err)
	}
	if _, err := api.ContainerResize(ctx, box, client.ContainerResizeOptions{Height: 10, Width: 10}); err != nil {
		t.Errorf("resize with a tty: %v", err)
	}
	// The containers are as they were.
	for name, want := range map[string]string{plain: "running", box: "running", stopped: "created"} {
		if got, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Status}}", name); strings.TrimSpace(got) != want {
			t.Errorf("%s: status %q, want %s", name, got, want)
		}
	}
	// A tty container's output is in its log too.
	p := startPTY(t, d, "berth", "attach", box)
	time.Sleep(300 * time.Millisecond)
	p.send("echo lo''gged\r")
	p.expect("logged\r\n")
	if out, _, _ := d.Berth(t, "logs", box); !strings.Contains(out, "logged\r\n") {
		t.Errorf("logs of a tty container: %q", out)
	}
}

// TestRunDetachThenRestore: `run -it` left with ctrl-p ctrl-q exits 0 and
// leaves the container running; it survives a kill -9 of the daemon, and
// `start -ai` of an interactive container is a terminal too.
func TestRunDetachThenRestore(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	names := map[string]string{}
	for _, which := range ptyCLIs(t) {
		name := testutil.UniqueName(t, "rd-"+which)
		names[which] = name
		t.Cleanup(func() { d.Berth(t, "rm", "-f", name) })
		p := startPTY(t, d, which, "run", "-it", "--name", name, "busybox", "sh")
		p.expect("/ # ")
		p.send("\x10\x11")
		if code := p.wait(); code != 0 {
			t.Fatalf("%s run -it detach: exit %d, screen %q", which, code, p.screen())
		}
		if got, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Running}}", name); strings.TrimSpace(got) != "true" {
			t.Fatalf("%s: after detach running=%q", which, got)
		}
	}
	name := names["berth"]
	d.Kill9(t)
	d.Restart(t)
	p := startPTY(t, d, "berth", "attach", name)
	time.Sleep(300 * time.Millisecond)
	p.send("echo af''ter\r")
	p.expect("after\r\n")
	p.send("exit 7\r")
	if code := p.wait(); code != 7 {
		t.Fatalf("attach after restore: exit %d, screen %q", code, p.screen())
	}
	p = startPTY(t, d, "berth", "start", "-ai", name)
	p.expect("/ # ")
	p.send("exit 2\r")
	if code := p.wait(); code != 2 {
		t.Fatalf("start -ai: exit %d, screen %q", code, p.screen())
	}
}
