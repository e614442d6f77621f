// Package storagetest owns the conformance suite every storage.Driver runs:
// layering, whiteouts, writable layers, mounts, diffs, sizes and removal,
// with the same expectations for each implementation.
package storagetest
