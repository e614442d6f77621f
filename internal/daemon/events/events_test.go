package events

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func TestSubscribeHistoryAndLive(t *testing.T) {
	b := New()
	start := time.Now()
	b.Publish(events.ContainerEventType, events.ActionCreate, "a", nil)
	past, sub := b.subscribe(start, func(m events.Message) bool { return m.Actor.ID == "a" })
	defer sub.Cancel()
	if len(past) != 1 || past[0].Action != events.ActionCreate {
		t.Fatalf("past = %+v", past)
	}
	b.Publish(events.ContainerEventType, events.ActionStart, "b", nil)
	b.Publish(events.ContainerEventType, events.ActionStart, "a", nil)
	select {
	case m := <-sub.C:
		if m.Actor.ID != "a" || m.Action != events.ActionStart {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(time.Second):
		t.Fatal("no live event")
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	b := New()
	_, sub := b.subscribe(time.Time{}, nil)
	for i := 0; i < bufferSize+10; i++ {
		b.Publish(events.ImageEventType, events.ActionTag, "x", nil)
	}
	n := 0
	for range sub.C {
		n++
	}
	if n != bufferSize {
		t.Fatalf("delivered %d", n)
	}
	sub.Cancel() // must not panic after the bus closed it
	if b.Listeners() != 0 {
		t.Fatal("listener leaked")
	}
}
