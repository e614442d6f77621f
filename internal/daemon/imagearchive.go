package daemon

import (
	"context"
	"io"

	apievents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/opencontainers/go-digest"

	"berth/internal/image"
	"berth/internal/imagearchive"
)

// Save writes the named images as one archive (docker save).
func (s *Images) Save(ctx context.Context, names []string, w io.Writer) error {
	if err := imagearchive.Save(ctx, s.store, names, w); err != nil {
		return err
	}
	for _, n := range names {
		if img, err := s.store.Get(ctx, n); err == nil {
			s.publish(img.ID, apievents.ActionSave, "")
		}
	}
	return nil
}

// Load stores the images of an archive (docker load); out gets Docker's
// "Loaded image: …" lines and, unless quiet, "Loading layer" progress.
func (s *Images) Load(ctx context.Context, r io.Reader, quiet bool, out func(jsonstream.Message)) error {
	var progress imagearchive.Progress
	if !quiet {
		progress = func(id string, cur, total int64) {
			out(jsonstream.Message{Status: "Loading layer", ID: id, Progress: &jsonstream.Progress{Current: cur, Total: total}})
		}
	}
	lines := func(line string) { out(jsonstream.Message{Stream: line}) }
	loaded, err := imagearchive.Load(ctx, s.store, r, lines, progress)
	for _, l := range loaded {
		s.publish(l.ID, apievents.ActionLoad, "")
		for _, t := range l.Tags {
			s.publish(l.ID, apievents.ActionTag, t)
		}
	}
	return err
}

// graphDriverData is the driver's description of the image's top layer,
// as Docker's inspect shows it (nil for drivers with none, like vfs).
func (s *Images) graphDriverData(ctx context.Context, img *image.Image) map[string]string {
	ids := img.Config.RootFS.DiffIDs
	if len(ids) == 0 {
		return nil
	}
	var chain digest.Digest
	for _, d := range ids {
		chain = image.ChainID(chain, d)
	}
	return s.store.LayerMetadata(ctx, chain)
}

// Parent is the ID of the image id was built or committed from, if any.
func (s *Images) Parent(ctx context.Context, ref string) (string, error) {
	img, err := s.store.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.Parent.String(), nil
}
