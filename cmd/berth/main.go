// Command berth is one binary in three roles: the hidden re-exec roles
// (container init, per-container shim), the daemon, and the client CLI.
// The role is picked here before anything else runs: libcontainer's init
// must start before other goroutines and before cobra.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"berth/internal/cli"
	"berth/internal/runtime"
	"berth/internal/shim"
)

func main() {
	if runtime.IsInitRole(os.Args[0]) {
		os.Exit(runtime.RunInit(os.Args[1:])) // --init: PID 1 in a container
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			runtime.Init() // never returns
		case "shim":
			os.Exit(shim.Main(os.Args[2:]))
		case "daemon":
			// Run from a sealed copy of the binary: containers, execs and
			// probes never see the file on disk (CVE-2019-5736), and
			// libcontainer need not copy it per process.
			shim.RunFromSealedCopy()
			os.Exit(runDaemon(os.Args[2:]))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
