// Package safepath owns resolving, opening, creating and removing an
// untrusted path inside a root directory. It is the only place in berth that
// joins a path taken from an image, an archive or a user request onto a host
// directory; everything else receives a handle or a path this package
// produced.
//
// Resolution is done by the kernel with openat2(2) and RESOLVE_IN_ROOT, so
// "..", absolute paths and symlinks (absolute or relative, in chains, in a
// parent directory) are all interpreted as if the root were "/" — the same
// view a process chrooted into the root would have. Magic links under /proc
// are refused (RESOLVE_NO_MAGICLINKS). The final component of a create or
// remove is never followed: operations act on the directory entry itself
// through a directory file descriptor (mkdirat, symlinkat, linkat, mknodat,
// unlinkat, fchownat).
//
// Parameters that hold untrusted paths are named unsafe...; once a value has
// been through this package it is safe to hand to the host only as the
// handle returned, or as the path returned by Resolve (which is subject to
// races by nature and is meant for callers that must pass a path onwards,
// such as mount sources).
package safepath
