// Package archive owns tar streams going into and out of a filesystem tree:
// extracting image layers (plain, gzip, zstd or bzip2 compressed), OCI
// whiteouts in both the forms layers carry (.wh.name and .wh..wh..opq) and
// the forms overlayfs understands (0/0 character devices and the
// trusted.overlay.opaque xattr), and producing a tar of a directory.
//
// It must not touch the host filesystem except through package safepath:
// every entry name, hardlink target and whiteout target in a tar is
// untrusted and is resolved inside the extraction root. An entry whose name
// or link target climbs out of the root with ".." is refused with an
// errdefs.InvalidParameter error; absolute names are taken relative to the
// root, and symlinks met on the way are resolved as if the root were "/",
// which is what a container will see.
package archive
