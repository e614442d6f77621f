package events

import (
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

const (
	historySize = 1024
	bufferSize  = 256
)

// Bus fans events out to subscribers and keeps a short history.
type Bus struct {
	mu      sync.Mutex
	history []events.Message
	subs    map[*Subscription]struct{}
}

// Subscription is one live reader. C is closed when the subscriber is
// dropped or cancelled.
type Subscription struct {
	C      chan events.Message
	filter func(events.Message) bool
	bus    *Bus
}

func New() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Publish stamps and delivers an event.
func (b *Bus) Publish(typ events.Type, action events.Action, id string, attrs map[string]string) {
	now := time.Now().UTC()
	if attrs == nil {
		attrs = map[string]string{}
	}
	m := events.Message{
		Type: typ, Action: action,
		Actor:    events.Actor{ID: id, Attributes: attrs},
		Scope:    "local",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.history = append(b.history, m)
	if len(b.history) > historySize {
		b.history = append([]events.Message(nil), b.history[len(b.history)-historySize:]...)
	}
	for s := range b.subs {
		if s.filter != nil && !s.filter(m) {
			continue
		}
		select {
		case s.C <- m:
		default:
			delete(b.subs, s)
			close(s.C)
		}
	}
}

// Subscribe returns the history since `since` (zero: none) and a live
// channel, taken atomically so no event falls between the two, and the
// function that ends the subscription.
func (b *Bus) Subscribe(since time.Time, filter func(events.Message) bool) ([]events.Message, <-chan events.Message, func()) {
	past, s := b.subscribe(since, filter)
	return past, s.C, s.Cancel
}

func (b *Bus) subscribe(since time.Time, filter func(events.Message) bool) ([]events.Message, *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var past []events.Message
	if !since.IsZero() {
		for _, m := range b.history {
			if m.TimeNano >= since.UnixNano() && (filter == nil || filter(m)) {
				past = append(past, m)
			}
		}
	}
	s := &Subscription{C: make(chan events.Message, bufferSize), filter: filter, bus: b}
	b.subs[s] = struct{}{}
	return past, s
}

// Cancel ends a subscription; safe to call more than once.
func (s *Subscription) Cancel() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.C)
	}
}

// Listeners counts live subscriptions, for /info.
func (b *Bus) Listeners() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
