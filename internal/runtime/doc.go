// Package runtime owns the translation of a container's plain configuration
// into an OCI runtime spec, and the container-init role that libcontainer
// re-executes.
//
// The pipeline is: the daemon fills a [Config] (paths, resolved user,
// resources, security options) → [Spec] validates it and builds a
// *specs.Spec with Docker's default security posture (see SPEC.md) → the
// shim package hands that spec to libcontainer.
//
// Spec is a pure function: everything it needs from the host (bounding
// capability set, RLIMIT_NOFILE ceiling, CPU count, swap accounting) comes in
// through [Config.Host], which [DetectHost] fills once per daemon.
// [ResolveUser] reads the container's /etc/passwd and /etc/group without
// ever leaving the rootfs.
//
// For a running container, named by its init's pid, [Freeze], [Processes]
// and [Stats] read and toggle its cgroups (v1 or v2, wherever
// /proc/<pid>/cgroup says it lives), so that pause, top and stats never
// have the daemon touch cgroup files itself.
//
// [Exec] runs an extra process in a running container from the
// libcontainer state its shim keeps: libcontainer's setns path joins the
// container's namespaces and cgroups and applies its seccomp profile,
// no-new-privileges and capabilities (the full host set only when asked
// for privileged); rlimits are copied from the container's init.
//
// The package must not know images or networks beyond the rootfs path and
// network namespace path it is handed.
//
// UpdateResources (update.go) rewrites a running container's limits in
// place (docker update), finding its cgroups from its init's pid as the
// observe verbs do.
package runtime
