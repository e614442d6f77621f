// Package storage owns the layer store interface: read-only image layers
// stacked by parent, read-write container layers on top, and how a layer is
// presented as a filesystem. Implementations live in storage/overlay
// (overlayfs, the default) and storage/vfs (a full copy per layer, for
// backing filesystems overlay cannot use); storage/storagetest is the
// conformance suite both run.
//
// Layers are named by opaque string IDs chosen by the caller (package image
// maps chain IDs and containers to them); this package never sees image
// names or digests.
//
// A layer's life:
//
//	Create(ctx, id, parent)      // empty read-only layer on parent ("" for a base)
//	ApplyDiff(ctx, id, tar)      // fill it, once, before anything uses it
//	CreateRW(ctx, cid, id)       // a container's writable layer on top
//	Mounts(ctx, cid)             // what to mount; the driver does not mount
//	storage.Mount(specs, MountPoint(cid)) ... storage.Unmount(MountPoint(cid))
//	Remove(ctx, cid); Remove(ctx, id)   // children before parents
//
// Drivers are safe for concurrent use on different IDs; the caller
// serialises operations on the same ID.
package storage
