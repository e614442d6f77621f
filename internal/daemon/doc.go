// Package daemon owns berth's server-side behaviour behind the Engine API:
// wiring (New, Close), restoring containers after a restart (live restore),
// and the service types the API calls — Containers, Images and System — each
// holding only the dependencies it needs.
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
package daemon
