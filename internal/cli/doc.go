// Package cli owns berth's client command line: the cobra command tree with
// Docker's command set, flags, usage and error wording, --format templates,
// tables, and the attach/tty plumbing of run and start.
//
// It speaks only the Engine API through the official moby client; it never
// touches daemon stores. Execute is the single entry point: cmd/berth hands it
// the arguments (without the program name) and the standard streams, and
// exits with the code it returns. Exit codes follow the Docker CLI: 0 on
// success, 1 for command errors and argument-count errors, 125 for flag
// errors and for run/create failures before the container ran, 126/127 when
// the container command cannot be invoked or found, and otherwise the
// container's own exit status for run, start -a and wait-style flows.
//
// Every command lives in its own file with an options struct, a
// newXCommand constructor and a runX(ctx, ...) function, so each can be
// exercised from tests against a fake Engine API served on a unix socket.
package cli
