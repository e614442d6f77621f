package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// parseTime reads Docker's since/until: unix seconds with optional
// fractional nanoseconds ("1700000000.123456789"), or RFC 3339.
func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, errdefs.InvalidParameterf("invalid timestamp %q", v)
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, errdefs.InvalidParameterf("invalid timestamp %q", v)
		}
	}
	return time.Unix(s, ns), nil
}

// parseFilters accepts both encodings Docker clients send:
// {"k":{"v":true}} and the legacy {"k":["v"]}.
func parseFilters(v string) (backend.Filters, error) {
	f := backend.Filters{}
	if v == "" {
		return f, nil
	}
	var modern map[string]map[string]bool
	if err := json.Unmarshal([]byte(v), &modern); err == nil {
		for k, vals := range modern {
			f[k] = vals
		}
		return f, nil
	}
	var legacy map[string][]string
	if err := json.Unmarshal([]byte(v), &legacy); err != nil {
		return nil, errdefs.InvalidParameterf("invalid filter: %v", err)
	}
	for k, vals := range legacy {
		f[k] = map[string]bool{}
		for _, x := range vals {
			f[k][x] = true
		}
	}
	return f, nil
}

var validEventFilters = map[string]bool{"container": true, "event": true, "image": true, "label": true,
	"type": true, "volume": true, "network": true, "daemon": true, "plugin": true, "node": true,
	"service": true, "secret": true, "config": true, "scope": true}

func eventFilter(f backend.Filters) (func(events.Message) bool, error) {
	for k := range f {
		if !validEventFilters[k] {
			return nil, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	match := func(key, val string) bool {
		vals := f[key]
		return len(vals) == 0 || vals[val]
	}
	return func(m events.Message) bool {
		if !match("type", string(m.Type)) {
			return false
		}
		action := string(m.Action)
		if base, _, ok := strings.Cut(action, ":"); ok && len(f["event"]) > 0 && !f["event"][action] {
			action = base
		}
		if !match("event", action) {
			return false
		}
		name := m.Actor.Attributes["name"]
		if vals := f["container"]; len(vals) > 0 {
			if m.Type != events.ContainerEventType || !(vals[m.Actor.ID] || vals[name] || prefixIn(vals, m.Actor.ID)) {
				return false
			}
		}
		if vals := f["image"]; len(vals) > 0 {
			img := m.Actor.Attributes["image"]
			if m.Type == events.ImageEventType {
				img = name
			}
			if !(vals[img] || vals[m.Actor.ID] || vals[strings.TrimSuffix(img, ":latest")]) {
				return false
			}
		}
		for v := range f["label"] {
			k, want, hasVal := strings.Cut(v, "=")
			got, ok := m.Actor.Attributes[k]
			if !ok || (hasVal && got != want) {
				return false
			}
		}
		return true
	}, nil
}

func prefixIn(vals map[string]bool, id string) bool {
	for v := range vals {
		if len(v) >= 1 && strings.HasPrefix(id, v) {
			return true
		}
	}
	return false
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := parseTime(q.Get("since"))
	if err != nil {
		return err
	}
	until, err := parseTime(q.Get("until"))
	if err != nil {
		return err
	}
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	filter, err := eventFilter(f)
	if err != nil {
		return err
	}
	past, live, cancel := s.b.Events.Subscribe(since, filter)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(m events.Message) bool {
		if !until.IsZero() && m.TimeNano > until.UnixNano() {
			return false
		}
		if enc.Encode(m) != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for _, m := range past {
		if !send(m) {
			return nil
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case m, ok := <-live:
			if !ok || !send(m) {
				return nil
			}
		case <-deadline:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}
