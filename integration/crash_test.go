package integration

import (
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"berth/internal/testutil"
)

// TestKill9DuringWritesReopens kills the daemon at random moments while
// clients create, tag and remove things, and checks that the next daemon
// opens its stores and still has everything it acknowledged.
func TestKill9DuringWritesReopens(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	var mu sync.Mutex
	acked := map[string]bool{} // container IDs whose create returned
	tags := map[string]bool{}
	for round := 0; round < 3; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					out, _, code := d.Berth(t, "create", "busybox", "true")
					if code == 0 {
						mu.Lock()
						acked[strings.TrimSpace(out)] = true
						mu.Unlock()
					}
					tag := testutil.UniqueName(t, "crash") + ":v1"
					if _, _, code := d.Berth(t, "tag", "busybox", tag); code == 0 {
						mu.Lock()
						tags[tag] = true
						mu.Unlock()
					}
					if i%3 == 0 && code == 0 {
						// Once a remove is asked for, the container may
						// or may not survive a crash: stop tracking it.
						id := strings.TrimSpace(out)
						mu.Lock()
						delete(acked, id)
						mu.Unlock()
						d.Berth(t, "rm", id)
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(150+rand.Intn(400)) * time.Millisecond)
		d.Kill9(t)
		close(stop)
		wg.Wait()
		d.Restart(t)

		out, stderr, code := d.Berth(t, "ps", "-aq", "--no-trunc")
		if code != 0 {
			t.Fatalf("round %d: ps after kill -9: %s", round, stderr)
		}
		have := map[string]bool{}
		for _, id := range strings.Fields(out) {
			have[id] = true
		}
		mu.Lock()
		for id := range acked {
			// A remove may have been acknowledged by the dead daemon
			// after our create was; only creates count as losses.
			if !have[id] {
				t.Errorf("round %d: acknowledged container %s lost", round, id[:12])
			}
		}
		for tag := range tags {
			if _, _, code := d.Berth(t, "image", "inspect", tag); code != 0 {
				t.Errorf("round %d: acknowledged tag %s lost", round, tag)
			}
		}
		mu.Unlock()
		if _, stderr, code := d.Berth(t, "images"); code != 0 {
			t.Fatalf("images after kill -9: %s", stderr)
		}
	}
	// Everything the dead daemons left must still be removable.
	out, _, _ := d.Berth(t, "ps", "-aq")
	for _, id := range strings.Fields(out) {
		if _, stderr, code := d.Berth(t, "rm", "-f", id); code != 0 {
			t.Errorf("rm %s: %s", id, stderr)
		}
	}
	assertNoLeftovers(t, d)
}
