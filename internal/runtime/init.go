package runtime

import (
	"github.com/opencontainers/runc/libcontainer"
	// nsenter's constructor must run in every berth process before the Go
	// runtime starts: it is what joins namespaces when berth re-executes
	// itself as the container init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	// devices registers the device-cgroup manager; without it libcontainer
	// refuses to start containers that carry device rules.
	_ "github.com/opencontainers/cgroups/devices"
)

// Init runs the container-init role (the `berth init` re-exec done by
// libcontainer). It never returns. cmd/berth must call it before anything
// else starts goroutines or touches the environment.
func Init() {
	libcontainer.Init()
}
