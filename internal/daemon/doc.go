// Package daemon owns berth's server-side behaviour behind the Engine API:
// wiring (New, Close), restoring containers after a restart (live restore),
// and the service types the API calls — Containers, Images, Volumes and
// System — each holding only the dependencies it needs.
//
// It must not speak HTTP (package api does), parse tar (archive/image),
// or make mount, netlink or cgroup syscalls itself (image, runtime, shim).
//
// A container's life: Create records it and its read-write layer; Start
// mounts the rootfs, builds the OCI spec (runtime.Spec) and hands it to a
// per-container shim, which owns the process from then on; a monitor
// goroutine waits on the shim and records the exit; Remove deletes the
// layer and record. The daemon can die at any point after the shim started:
// restore reconnects to live shims and reads the exit records of the rest.
//
// Restart policies (restart.go) act at the one place an exit becomes state,
// recordExit: shouldRestart decides, the container waits in "restarting"
// for a back-off (100 ms doubling to 1 min, reset by a 10 s run), then starts
// again with a die/start event pair and RestartCount+1. Stop, kill and rm -f
// mark the container manually stopped and cancel a pending restart; a user
// start clears the mark, the count and the back-off. A new daemon applies
// the policies to what it restores (restartOnBoot).
//
// Volumes (volumes.go) resolves a container's -v, --mount, --tmpfs and image
// VOLUMEs at create (creating volumes, taking references, persisting the
// result as mounts.json beside the record), turns them into runtime mounts
// at each start (copy-up into empty volumes from the rootfs via safepath),
// and drops the references at removal (deleting anonymous volumes for rm -v
// and --rm). References are rebuilt from mounts.json when the daemon starts.
//
// Exec (exec.go) keeps in-memory records of extra processes (like Docker's,
// they do not survive a daemon restart) and drops them when their container
// exits. runtime.Exec starts each process from the shim's libcontainer
// state with the daemon as its parent, so the daemon waits for it and
// records its exit code; exec into a paused, restarting or stopped
// container is a 409 with Docker's wording, a TTY (-t) is not implemented
// yet (501).
//
// Update (update.go) merges docker update's fields into a copy of the
// HostConfig and, for a live container, writes the new limits to its
// cgroups through runtime.UpdateResources while holding the record's lock:
// a refused write leaves both the cgroups and the record as they were. The
// restart policy needs nothing live: the exit path reads it from the record.
//
// Healthchecks (health.go) run while a container does: a monitor goroutine
// per run probes with runtime.Exec (user and environment resolved once at
// start), skips probes while paused, kills a probe at its timeout, and
// records each result in State.Health through container.Health.Record,
// publishing health_status events on a change. The label
// berth.health-on-failure (berth's --health-on-failure) names an action
// (kill, stop, restart) taken when the container turns unhealthy.
//
// Filesystem operations (fs.go) — cp's archive routes, diff and export —
// work on a containerfs.View: a running container's root through its
// init's /proc/<pid>/root (volumes and binds as it sees them), a stopped
// one's assembled in a private mount namespace from the layer's mount specs
// and the container's mounts. diff reads the layer's own diff against the
// image mounted read-only, leaving out the runtime's mount points; export
// tars the root filesystem alone. --volumes-from (volumes_from.go) copies
// another container's volume and bind mounts at create. Container prune
// (prune.go) removes what is not running, by until and label filters.
//
// Commit (commit.go) turns a container's config (with the request's
// overrides and -c changes) into an image config and hands the container's
// read-write layer, minus the runtime's /etc/hosts, /etc/hostname and
// /etc/resolv.conf mount points, to image.Store.Commit, pausing a running
// container meanwhile. Builds (build.go) runs package builder on this
// package's own services: its step containers are created, attached,
// started, waited on and removed like any other, and each step is
// committed through the same image.Store.Commit.
package daemon
