package daemon

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/errdefs"
)

// Prune is POST /containers/prune: every container that is not running,
// paused or restarting, subject to the until and label filters, as Docker.
func (s *Containers) Prune(ctx context.Context, f backend.Filters) (apicontainer.PruneReport, error) {
	rep := apicontainer.PruneReport{ContainersDeleted: []string{}}
	for k := range f {
		if k != "until" && k != "label" && k != "label!" {
			return rep, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	until, err := untilFilter(f, time.Now())
	if err != nil {
		return rep, err
	}
	for _, snap := range s.store.List() {
		st := snap.State.Status
		if snap.State.IsRunning() || st == container.StatusRestarting || st == container.StatusRemoving {
			continue
		}
		if !until.IsZero() && !snap.Created.Before(until) {
			continue
		}
		var labels map[string]string
		if snap.Config != nil {
			labels = snap.Config.Labels
		}
		if !labelsMatch(labels, f["label"], true) || !labelsMatch(labels, f["label!"], false) {
			continue
		}
		size, _ := s.images.RWSize(ctx, snap.ID)
		if err := s.Remove(ctx, snap.ID, backend.RemoveOptions{}); err != nil {
			if errdefs.IsConflict(err) || errdefs.IsNotFound(err) {
				continue // started or removed meanwhile
			}
			return rep, err
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, snap.ID)
		if size > 0 {
			rep.SpaceReclaimed += uint64(size)
		}
	}
	s.events.Publish(apievents.ContainerEventType, apievents.ActionPrune, "", map[string]string{"reclaimed": fmt.Sprint(rep.SpaceReclaimed)})
	return rep, nil
}

// untilFilter reads prune's until: a unix timestamp (fractions allowed),
// an RFC 3339 date or time, or a Go duration counted back from now.
func untilFilter(f backend.Filters, now time.Time) (time.Time, error) {
	var out time.Time
	for v := range f["until"] {
		t, err := parseUntil(v, now)
		if err != nil {
			return time.Time{}, errdefs.InvalidParameterf("failed to parse value %q of filter \"until\": %v", v, err)
		}
		out = t
	}
	return out, nil
}

func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if sec, frac, ok := strings.Cut(v, "."); ok || sec != "" {
		if s, err := strconv.ParseInt(sec, 10, 64); err == nil {
			var ns int64
			if ok {
				frac = (frac + "000000000")[:9]
				if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
					return time.Time{}, err
				}
			}
			return time.Unix(s, ns), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time format %q", v)
}
