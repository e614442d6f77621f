// Package image owns the local image store: image configs (content
// addressed, verified before they become visible), references (tags and
// digests, normalised as Docker does), layers shared between images by
// chain ID, and the read-write layers containers run on. Layer contents go
// through a storage.Driver; this package maps chain IDs and containers to
// the driver's opaque layer IDs.
//
// On disk, under <data-root>/image:
//
//	configs/sha256/<hex>         image config JSON; its name is its digest
//	layers/sha256/<chain>.json   a finished layer: diff ID, parent, driver id, size
//	repositories.json            reference -> image ID
//	mounts/<container>.json      a container's read-write layer
//	blobs/sha256/<hex>           each layer's exact bytes (blobs.go)
//	blobs/diffid/<diff>.json     diff ID -> kept blob, for push and save
//	tarsplit/<chain>.gz          a layer tar's framing (archive.SplitRecorder),
//	                             so LayerTar gives the tar back byte for byte
//	tmp/                         scratch space (archives being loaded)
//
// Every write is atomic (temp file, fsync, rename, fsync dir). A layer is
// visible once its JSON exists; on open, driver layers no JSON or mount
// record names, and layers no image or container uses, are removed, so a
// crash at any point leaves a store that opens.
//
// It must not do network I/O (package distribution fetches, then hands
// layers and configs here) and it does not know containers beyond their ID:
// whether an image is in use is the daemon's question.
package image
