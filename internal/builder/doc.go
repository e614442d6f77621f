// Package builder owns `docker build` with Docker's classic builder
// semantics: it parses a Dockerfile with buildkit's parser, instructions
// and shell packages (never its own grammar), then dispatches one function
// per instruction, each step producing an image on top of the last.
//
// A build's life: Build extracts the context tar (through archive, so no
// entry escapes the temp directory), drops what .dockerignore (or
// <Dockerfile>.dockerignore) excludes, parses the Dockerfile, picks the
// target stage and the stages it needs (FROM <stage>, COPY --from), and
// runs them in order. Each step first looks up the layer cache: a key made
// of the parent image, the expanded instruction, the build args in scope
// and, for COPY/ADD, a checksum of the copied files' content and metadata
// (mtime ignored). A miss runs the step: RUN in a real container created,
// started and waited on through the daemon's services; COPY, ADD and
// WORKDIR write into a never-started step container's mounted rootfs; the
// rest change only the config. Every step is committed through
// image.Store.Commit, and its step container removed whether it failed or
// not. The cache is a small JSON map under <data-root>/builder, so it
// survives restarts; Prune empties it.
//
// It must not reach into stores: everything goes through Backend, which the
// daemon implements. Progress goes out as Docker's classic text stream
// ("Step N/M : ...", " ---> <id>"), which the API wraps in JSON messages.
package builder
