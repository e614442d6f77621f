// Package overlay owns the overlay2-style layer store: each layer is a
// directory <home>/<id> holding diff/ (the layer's own files, whiteouts in
// overlayfs form), link (a short random name), lower (the parent chain as
// short names, nearest first), and for writable layers work/. <home>/l/<short>
// is a symlink to ../<id>/diff, which keeps the lowerdir list of a deep
// chain short; past a page of options storage.Mount switches to the new
// mount API, one lower at a time.
//
// It must not mount anything itself except in Supported's probe.
package overlay
