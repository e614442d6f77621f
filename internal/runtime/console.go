package runtime

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Console receives the pty master of a process started with a terminal:
// libcontainer's init opens the pty inside the container (its own devpts)
// and sends the master back on a socket. Hand Socket() to the process as
// its ConsoleSocket, start it, then take the master with Master.
type Console struct {
	parent, child *os.File
	got           chan consoleResult
}

type consoleResult struct {
	f   *os.File
	err error
}

// NewConsole makes the socket pair and starts listening on it.
func NewConsole() (*Console, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	c := &Console{
		parent: os.NewFile(uintptr(fds[0]), "console-parent"),
		child:  os.NewFile(uintptr(fds[1]), "console-child"),
		got:    make(chan consoleResult, 1),
	}
	go func() {
		f, err := recvConsole(c.parent)
		c.got <- consoleResult{f, err}
	}()
	return c, nil
}

// Socket is the end the process's init sends the master on.
func (c *Console) Socket() *os.File { return c.child }

// Master returns the pty master once the process started, waiting at most
// timeout. It is non-blocking, so Close interrupts a pending Read.
func (c *Console) Master(timeout time.Duration) (*os.File, error) {
	c.child.Close()
	var r consoleResult
	select {
	case r = <-c.got:
	case <-time.After(timeout):
		c.parent.Close()
		r = <-c.got
		if r.err == nil {
			r.f.Close()
			r.err = errors.New("no console received")
		}
	}
	c.parent.Close()
	return r.f, r.err
}

// Close releases the sockets (on a failed start).
func (c *Console) Close() {
	c.child.Close()
	c.parent.Close()
}

func recvConsole(sock *os.File) (*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	buf := make([]byte, 4096)
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	var oobn int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	}); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("console socket: no control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("console socket: no file descriptor")
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "console"), nil
}

// Terminal is the pty of an exec'd process: its initial size, then what
// Resize changes.
type Terminal struct {
	Height, Width uint16

	mu     sync.Mutex
	master *os.File // set by Exec once the process started
}

func (t *Terminal) setMaster(f *os.File) {
	t.mu.Lock()
	t.master = f
	t.mu.Unlock()
}

// Resize sets the pty's window size; before the process started it only
// records the size.
func (t *Terminal) Resize(height, width uint16) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Height, t.Width = height, width
	if t.master == nil {
		return nil
	}
	return SetWinsize(t.master, height, width)
}

// SetWinsize sets the window size of the pty whose master is f.
func SetWinsize(f *os.File, height, width uint16) error {
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: height, Col: width})
}
