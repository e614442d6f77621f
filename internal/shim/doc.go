// Package shim owns the per-container monitor: one `berth shim` process per
// running container that creates and runs it with libcontainer, owns its
// stdio, writes its json-file log, records its exit status and answers on a
// unix socket. The shim outlives the daemon, which is what makes live
// restore possible.
//
// Lifecycle, as seen by the daemon:
//
//	c, err := shim.Start(ctx, opts) // container's init is running, c.Pid() is set
//	...
//	// daemon restarts:
//	c, err = shim.Connect(ctx, stateDir) // errdefs.NotFound: the shim is gone,
//	exit, err := shim.ReadExit(stateDir) // so read what it recorded
//	...
//	exit, err := c.Wait(ctx) // blocks until the container exits
//
// On disk, under Options.StateDir: config.json (the OCI spec handed to the
// shim), shim.sock, runc/ (libcontainer state while running) and exit.json
// (written atomically once the container has exited and its output has
// been flushed to the log). Then the shim destroys the container (cgroups,
// libcontainer state, now-empty parent cgroups it created), removes
// everything but exit.json, and only then answers waiters, so the daemon
// may start the container again in the same state dir as soon as Wait
// returns.
//
// Once the container runs, the shim execs its own binary into a small C
// monitor (monitor.c, started by a cgo constructor before the Go runtime)
// that does the rest with ~2 MB resident instead of ~10 MB: the steady
// state is paid per container. monitor.go describes the hand-over; the Go
// steady state in server.go remains for containers the monitor does not
// cover and as the fallback if the exec fails. Interactive containers (a
// tty or an open stdin) always stay in Go: the shim owns the pty master
// or the stdin pipe and serves attach streams and resizes on its socket
// (interactive.go).
//
// The shim decides no policy: restarts and removal belong to the daemon.
package shim
