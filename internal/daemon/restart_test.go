package daemon

import (
	"testing"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
)

func TestNextRestartDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		prev, ran time.Duration
		want      time.Duration
	}{
		{"first restart", 0, time.Second, 100 * ms},
		{"doubles", 100 * ms, time.Second, 200 * ms},
		{"keeps doubling", 3200 * ms, 0, 6400 * ms},
		{"just under the cap", 51200 * ms, 0, time.Minute},
		{"capped at a minute", time.Minute, 0, time.Minute},
		{"ran 10s resets", time.Minute, 10 * time.Second, 100 * ms},
		{"ran just under 10s keeps the series", 400 * ms, 10*time.Second - ms, 800 * ms},
		{"negative run (clock skew) does not reset", 400 * ms, -time.Second, 800 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextRestartDelay(tt.prev, tt.ran); got != tt.want {
				t.Fatalf("nextRestartDelay(%s, %s) = %s, want %s", tt.prev, tt.ran, got, tt.want)
			}
		})
	}
	// The series a crash loop sees: 100ms, 200ms, ... 51.2s, then 1m for ever.
	d, n := time.Duration(0), 0
	for d < time.Minute {
		d = nextRestartDelay(d, 0)
		n++
	}
	if n != 11 {
		t.Fatalf("reached the cap after %d restarts, want 11", n)
	}
}

func TestShouldRestart(t *testing.T) {
	pol := func(name apicontainer.RestartPolicyMode, max int) apicontainer.RestartPolicy {
		return apicontainer.RestartPolicy{Name: name, MaximumRetryCount: max}
	}
	tests := []struct {
		name       string
		policy     apicontainer.RestartPolicy
		code       int
		manual     bool
		autoRemove bool
		count      int
		want       bool
	}{
		{"empty policy", pol("", 0), 1, false, false, 0, false},
		{"no", pol("no", 0), 1, false, false, 0, false},
		{"always after success", pol("always", 0), 0, false, false, 5, true},
		{"always after failure", pol("always", 0), 1, false, false, 0, true},
		{"always but stopped", pol("always", 0), 137, true, false, 0, false},
		{"unless-stopped", pol("unless-stopped", 0), 0, false, false, 0, true},
		{"unless-stopped but stopped", pol("unless-stopped", 0), 143, true, false, 0, false},
		{"on-failure success", pol("on-failure", 0), 0, false, false, 0, false},
		{"on-failure unlimited", pol("on-failure", 0), 1, false, false, 1000, true},
		{"on-failure under max", pol("on-failure", 3), 2, false, false, 2, true},
		{"on-failure at max", pol("on-failure", 3), 2, false, false, 3, false},
		{"on-failure but stopped", pol("on-failure", 3), 137, true, false, 0, false},
		{"auto-remove never", pol("always", 0), 1, false, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldRestart(tt.policy, tt.code, tt.manual, tt.autoRemove, tt.count); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRestartOnBoot(t *testing.T) {
	tests := []struct {
		policy     apicontainer.RestartPolicyMode
		manual     bool
		autoRemove bool
		want       bool
	}{
		{"no", false, false, false},
		{"always", false, false, true},
		// Docker: "always" comes back with the daemon even after a stop.
		{"always", true, false, true},
		{"unless-stopped", false, false, true},
		{"unless-stopped", true, false, false},
		{"on-failure", false, false, false},
		{"always", false, true, false},
	}
	for _, tt := range tests {
		name := string(tt.policy)
		if tt.manual {
			name += " stopped"
		}
		if tt.autoRemove {
			name += " rm"
		}
		t.Run(name, func(t *testing.T) {
			p := apicontainer.RestartPolicy{Name: tt.policy}
			if got := restartOnBoot(p, tt.manual, tt.autoRemove); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
