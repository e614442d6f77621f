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
// downloads layers in parallel (three at a time) into temp files while the
// previous layers are unpacked, and streams each layer into the image
// store as its bytes arrive; a layer's digest is verified before its
// registration completes, so a bad or truncated blob stores nothing.
// Concurrent pulls share downloads (by blob digest) and registrations (by
// chain ID). Progress is reported as Docker's JSON message stream.
//
// It must not write into storage drivers except through package image, and
// it holds no HTTP server code: package api decodes requests and encodes
// the progress stream.
package distribution
