package shim

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// TestInteractiveStdin: an attach made before Resume sees the first output;
// its stdin reaches the container and its EOF closes the container's stdin.
func TestInteractiveStdin(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "echo first; cat; echo last >&2")
	opts.Stdin = true
	c := startContainer(t, cfg, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := c.Attach(ctx, AttachOptions{Stdin: true, Stdout: true, Stderr: true, CloseStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "typed\n")
	a.CloseWrite()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, a); err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\ntyped\n" || errb.String() != "last\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
	if e := wait(t, c); e.Code != 0 {
		t.Fatalf("exit %d", e.Code)
	}
	stdout, _ := readLog(t, opts.LogPath)
	if stdout != "first\ntyped\n" {
		t.Fatalf("log: %q", stdout)
	}
}

// TestInteractiveTty: the pty follows Resize, two clients see the same
// output, and the exit ends both streams.
func TestInteractiveTty(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "read x; stty size; echo got $x")
	cfg.Tty = true
	opts.Tty, opts.Stdin = true, true
	c := startContainer(t, cfg, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := c.Attach(ctx, AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := c.Attach(ctx, AttachOptions{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := c.Resize(ctx, 33, 101); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "hello\r")
	outA, _ := io.ReadAll(a)
	outB, _ := io.ReadAll(b)
	for _, out := range []string{string(outA), string(outB)} {
		if !strings.Contains(out, "33 101\r\n") || !strings.Contains(out, "got hello\r\n") {
			t.Errorf("tty output %q", out)
		}
	}
	if e := wait(t, c); e.Code != 0 {
		t.Fatalf("exit %d", e.Code)
	}
}
