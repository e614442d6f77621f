// Package vfs owns the copy-based layer store: every layer is a complete
// copy of its parent plus its own changes, in <home>/<id>/fs. It works on
// any backing filesystem and is the fallback when overlayfs cannot be used;
// it costs a full copy per layer and per container.
package vfs
