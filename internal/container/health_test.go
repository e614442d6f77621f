package container

import (
	"strings"
	"testing"
)

func TestHealthRecord(t *testing.T) {
	ok, fail := HealthResult{ExitCode: 0}, HealthResult{ExitCode: 1}
	tests := []struct {
		name        string
		from        *Health
		r           HealthResult
		retries     int
		startPeriod bool
		want        string
		streak      int
		changed     bool
	}{
		{"first success", &Health{Status: HealthStarting}, ok, 3, false, HealthHealthy, 0, true},
		{"failure in start period ignored", &Health{Status: HealthStarting}, fail, 1, true, HealthStarting, 0, false},
		{"failure after start period counts", &Health{Status: HealthStarting}, fail, 2, false, HealthStarting, 1, false},
		{"retries reached", &Health{Status: HealthStarting, FailingStreak: 1}, fail, 2, false, HealthUnhealthy, 2, true},
		{"healthy to unhealthy", &Health{Status: HealthHealthy, FailingStreak: 2}, fail, 3, false, HealthUnhealthy, 3, true},
		{"healthy failure below retries", &Health{Status: HealthHealthy}, fail, 3, false, HealthHealthy, 1, false},
		{"start period does not protect healthy", &Health{Status: HealthHealthy, FailingStreak: 0}, fail, 1, true, HealthUnhealthy, 1, true},
		{"unhealthy recovers", &Health{Status: HealthUnhealthy, FailingStreak: 5}, ok, 3, false, HealthHealthy, 0, true},
		{"unhealthy stays", &Health{Status: HealthUnhealthy, FailingStreak: 5}, fail, 3, false, HealthUnhealthy, 6, false},
		{"timeout counts as failure", &Health{Status: HealthHealthy}, HealthResult{ExitCode: -1}, 1, false, HealthUnhealthy, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := *tt.from
			got, changed := tt.from.Record(tt.r, tt.retries, tt.startPeriod)
			if got.Status != tt.want || got.FailingStreak != tt.streak || changed != tt.changed {
				t.Fatalf("got %s/%d/%v, want %s/%d/%v", got.Status, got.FailingStreak, changed, tt.want, tt.streak, tt.changed)
			}
			if tt.from.Status != before.Status || tt.from.FailingStreak != before.FailingStreak || len(tt.from.Log) != 0 {
				t.Fatalf("Record changed its receiver: %+v", tt.from)
			}
		})
	}
}

func TestHealthLogBounds(t *testing.T) {
	h := (*Health)(nil).Restarted()
	for i := 0; i < 8; i++ {
		h, _ = h.Record(HealthResult{ExitCode: i, Output: strings.Repeat("x", HealthOutputMax+10)}, 3, false)
	}
	if len(h.Log) != HealthLogMax || h.Log[0].ExitCode != 3 || h.Log[4].ExitCode != 7 {
		t.Fatalf("log not the last %d results: %+v", HealthLogMax, h.Log)
	}
	if len(h.Log[4].Output) != HealthOutputMax {
		t.Fatalf("output not truncated: %d", len(h.Log[4].Output))
	}
	r := h.Restarted()
	if r.Status != HealthStarting || r.FailingStreak != 0 || len(r.Log) != HealthLogMax {
		t.Fatalf("restart: %+v", r)
	}
}
