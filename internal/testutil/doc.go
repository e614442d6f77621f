// Package testutil owns the helpers berth's tests share: RequiresRoot and
// RequiresDocker gates, unique names, the berth binary built once per test
// process, an offline busybox rootfs tar, and a daemon on temp roots
// (StartDaemon) with its CLIs and API client.
//
// It must not be imported by non-test code.
//
// A Daemon cleans up after itself in t.Cleanup even when the test killed
// it: it stops the daemon, kills by PID the processes that carry its exec
// root in argv (the shims) or sit in its unique cgroup parent, unmounts what
// is left under its roots, removes the cgroup dirs and the temp dirs. It
// touches nothing it did not create: every name it matches on is unique to
// the one daemon.
package testutil
