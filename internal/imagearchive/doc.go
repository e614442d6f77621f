// Package imagearchive owns image archives: `docker save`'s format as
// Docker 25+ writes it (manifest.json and repositories beside an OCI image
// layout: oci-layout, index.json, blobs/sha256/…) and loading that format,
// its older variants (Docker before 25, skopeo's docker-archive:) and
// plain OCI layout tars.
//
// Save streams: every blob's size is known before it is written, layers
// come byte for byte as they were registered (image.Store.LayerTar), so an
// image saved and loaded again keeps its ID. Load spools the archive's
// files into a scratch directory under the image store (entry names are
// only keys there, never paths), checks the whole plan (configs, layer
// files, counts) before it stores anything, registers layers through
// image.Store.RegisterLayer, checks each diff ID against the config, and
// discards what it registered when anything fails.
//
// It must not extract layer contents itself (image and archive do, through
// safepath) nor know HTTP.
package imagearchive
