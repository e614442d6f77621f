// Package volume owns berth's volumes: the "local" driver's directories under
// <data-root>/volumes/<name>/_data, their persisted metadata (labels,
// options, creation time), anonymous volumes, copy-up of image content into
// a new volume, and the reference counts that keep a volume in use from
// being removed.
//
// It must not delete a volume some container references, and it knows no
// containers beyond the opaque IDs callers acquire and release references
// with; rebuilding those references after a restart is the caller's job.
//
// A volume created with the local driver's type/device/o options is
// mounted on its _data by Mount for its first user and unmounted by the
// last Unmount; Remove unmounts a device left mounted before it deletes
// anything, so removal never recurses into a device's (or a bound host
// directory's) files.
//
// Store is the entry point: Create, Get, List, Remove, Acquire, Release,
// Mount, Unmount and CopyUp.
package volume
