package shim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"

	"berth/internal/errdefs"
)

// AttachOptions select the streams of one attach to an interactive
// container.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
	// CloseStdin: the end of this client's stdin closes the container's
	// (Docker's StdinOnce; never with a tty).
	CloseStdin bool
}

// AttachConn is one attach stream. Read returns the container's output
// (stdcopy frames without a tty, raw bytes with one) until it ends; Write
// feeds its stdin; CloseWrite ends this client's stdin.
type AttachConn struct {
	r    io.Reader
	conn *net.UnixConn
}

func (a *AttachConn) Read(p []byte) (int, error)  { return a.r.Read(p) }
func (a *AttachConn) Write(p []byte) (int, error) { return a.conn.Write(p) }

// CloseWrite half-closes the stream: the container's stdin ends for this
// client.
func (a *AttachConn) CloseWrite() error { return a.conn.CloseWrite() }

// Close ends the stream both ways (a detach: stdin is not closed).
func (a *AttachConn) Close() error { return a.conn.Close() }

// Attach opens an attach stream to an interactive container. ctx bounds
// only the set-up; the stream lives until closed or the output ends.
func (c *Client) Attach(ctx context.Context, opts AttachOptions) (*AttachConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", filepath.Join(c.stateDir, socketFile))
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, errdefs.NotFoundf("no running shim in %s", c.stateDir)
		}
		return nil, errdefs.System(err)
	}
	conn := nc.(*net.UnixConn)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	req := request{Op: opAttach, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, CloseStdin: opts.CloseStdin}
	var resp response
	dec := json.NewDecoder(conn)
	err = json.NewEncoder(conn).Encode(req)
	if err == nil {
		err = dec.Decode(&resp)
	}
	if !stop() || err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errShimGone
	}
	if resp.Error != "" {
		conn.Close()
		return nil, classed(resp.Class, resp.Error)
	}
	// The response line's newline is still unread.
	return &AttachConn{r: &skipNewline{r: io.MultiReader(dec.Buffered(), conn)}, conn: conn}, nil
}

// skipNewline drops a newline that starts its stream.
type skipNewline struct {
	r       io.Reader
	checked bool
}

func (s *skipNewline) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if !s.checked && n > 0 {
		s.checked = true
		if p[0] == '\n' {
			copy(p, p[1:n])
			n--
		}
	}
	return n, err
}

// Resize sets the container's pty size; without a tty it does nothing.
func (c *Client) Resize(ctx context.Context, height, width uint) error {
	_, err := c.call(ctx, request{Op: opResize, Height: height, Width: width})
	return err
}

// Resume lets an interactive container, created held, run its process.
func (c *Client) Resume(ctx context.Context) error {
	_, err := c.call(ctx, request{Op: opResume})
	return err
}
