// Package containerfs owns the view of a container's filesystem that cp,
// diff and export work on: the root the container's processes see, with
// its volumes and bind mounts, whether the container runs or not.
//
// A running container is seen through /proc/<pid>/root, which the kernel
// resolves in the container's own mount namespace, so its volumes, binds and
// tmpfs mounts are there as the container sees them. A stopped container's
// root is assembled on a thread that left the daemon's mount namespace
// (unshare(CLONE_NEWNS) on a locked OS thread): the root filesystem and the
// container's mounts are mounted there, invisible to the host, and vanish
// with the thread when the View is closed — nothing to clean up after a
// crash.
//
// Every path a request names is resolved inside the view's root by
// internal/safepath (openat2 RESOLVE_IN_ROOT); the tree walks open each
// entry relative to its parent's descriptor with O_NOFOLLOW, so a symlink the
// container swaps in while a copy runs cannot point the copy at the host.
//
// Key types: View (Open*), PathStat, and the functions Stat, Archive,
// Extract, Export and Changes.
package containerfs
