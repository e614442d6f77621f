package shim

import (
	"path/filepath"
	"time"
)

// The socket protocol is one JSON request and one JSON response per
// connection; "wait" simply holds its connection until the container exits.

const (
	opPid    = "pid"
	opSignal = "signal"
	opWait   = "wait"
	// Interactive containers only (interactive.go).
	opAttach = "attach"
	opResize = "resize"
	opResume = "resume"
)

type request struct {
	Op     string `json:"op"`
	Signal int    `json:"signal,omitempty"`
	// attach
	Stdin, Stdout, Stderr bool `json:",omitempty"`
	CloseStdin            bool `json:",omitempty"` // EOF on the stream closes the container's stdin
	// resize
	Height, Width uint `json:",omitempty"`
}

type response struct {
	Pid   int    `json:"pid,omitempty"`
	Exit  *Exit  `json:"exit,omitempty"`
	Error string `json:"error,omitempty"`
	Class string `json:"class,omitempty"` // errdefs class for Error
}

// Exit is a container's recorded exit status.
type Exit struct {
	Code      int       `json:"code"`
	OOMKilled bool      `json:"oomKilled"`
	ExitedAt  time.Time `json:"exitedAt"`
}

// startResult is what the shim writes on its start pipe: the init pid, or
// why the start failed.
type startResult struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

const (
	configFile = "config.json"
	socketFile = "shim.sock"
	exitFile   = "exit.json"
	runcDir    = "runc"
)

// RuntimeStateRoot is where, under a shim's state dir, the container's
// libcontainer state lives while it runs; exec joins the container from it.
func RuntimeStateRoot(stateDir string) string { return filepath.Join(stateDir, runcDir) }
