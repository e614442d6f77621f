// Package distribution owns talking to registries: pull, push, login and
// search, on github.com/google/go-containerregistry. It resolves where a
// reference lives (registry mirrors for Docker Hub images, falling back to
// the origin), how to reach it (TLS with per-registry CAs from
// <certs-dir>/<host>/ca.crt, or plain HTTP / unverified TLS for insecure
// registries, 127.0.0.0/8 included by default as Docker does), and who the
// client is (credentials from the X-Registry-Auth header; basic and bearer
// token flows are the library's).
//
// A pull picks the daemon's platform from a manifest list or OCI index,
// downloads layers in parallel (three at a time) into temp files under
// <data-root>/distribution/tmp while the previous layers are unpacked, and
// streams each layer into the image store as its bytes arrive; a broken
// transfer resumes with a Range request, and a layer's size and digest are
// verified before its registration can complete, so a bad or truncated
// blob stores nothing. The verified download is then hard-linked as the
// layer's kept blob (image.BlobSource), which push uploads byte for byte.
// Concurrent pulls share downloads (by blob digest) and registrations (by
// chain ID). Progress is reported as Docker's JSON message stream.
//
// A push checks each blob (HEAD) and mounts it from another repository of
// the same registry known to hold it (sources.json) before uploading; the
// manifest is Docker schema2 over the kept blobs, so image IDs and, for
// pulled images, layer digests survive a push/pull round trip.
//
// It must not write into storage drivers except through package image, and
// it holds no HTTP server code: package api decodes requests and encodes
// the progress stream.
package distribution
