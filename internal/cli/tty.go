package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/term"
)

// This file holds the client's side of a terminal session: raw mode, the
// detach keys, and following the window size.

// defaultDetachKeys is what Docker's CLI watches for when neither the flag
// nor config.json names keys.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// detachKeys is the flag's value, else config.json's "detachKeys" (the
// Docker CLI's client-wide setting, in $DOCKER_CONFIG or ~/.docker), else
// "" (the daemon's default, ctrl-p,ctrl-q).
func detachKeys(flag string) string {
	if flag != "" {
		return flag
	}
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".docker")
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	var cfg struct {
		DetachKeys string `json:"detachKeys"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	return cfg.DetachKeys
}

// escapeInput wraps the user's input so that the detach keys end it with
// term.EscapeError. Keys that do not parse are left to the daemon, which
// answers with Docker's 400.
func escapeInput(in io.Reader, keys string) io.Reader {
	if keys == "" {
		keys = defaultDetachKeys
	}
	b, err := term.ToBytes(keys)
	if err != nil {
		return in
	}
	return term.NewEscapeProxy(in, b)
}

func isEscape(err error) bool {
	var esc term.EscapeError
	return errors.As(err, &esc)
}

// terminalFd returns the descriptor of f if it is a terminal.
func terminalFd(f any) (uintptr, bool) {
	file, ok := f.(*os.File)
	if !ok || !term.IsTerminal(file.Fd()) {
		return 0, false
	}
	return file.Fd(), true
}

// rawInput puts the user's terminal into raw mode (keys go to the
// container as typed: Ctrl-C is a byte for its shell, not a signal here);
// the returned function restores it.
func (c *berthCLI) rawInput() func() {
	fd, ok := terminalFd(c.in)
	if !ok {
		return func() {}
	}
	state, err := term.SetRawTerminal(fd)
	if err != nil {
		return func() {}
	}
	return func() { _ = term.RestoreTerminal(fd, state) }
}

// followSize tells resize the terminal's size now and at every SIGWINCH,
// until the returned function is called. Like Docker, the first resize is
// retried a few times: the process may not be up yet.
func (c *berthCLI) followSize(ctx context.Context, resize func(ctx context.Context, h, w uint) error) func() {
	fd, ok := terminalFd(c.out)
	if !ok {
		return func() {}
	}
	size := func() (uint, uint, bool) {
		ws, err := term.GetWinsize(fd)
		if err != nil || ws.Height == 0 || ws.Width == 0 {
			return 0, 0, false
		}
		return uint(ws.Height), uint(ws.Width), true
	}
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(ch)
		if h, w, ok := size(); ok {
			for i := 0; i < 5; i++ {
				if resize(ctx, h, w) == nil {
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(10*(i+1)) * time.Millisecond):
				}
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if h, w, ok := size(); ok {
					_ = resize(ctx, h, w)
				}
			}
		}
	}()
	return cancel
}
