package daemon

import (
	"reflect"
	"testing"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/container"
)

func TestPlanHealth(t *testing.T) {
	hc := func(test ...string) *apicontainer.Config {
		return &apicontainer.Config{Healthcheck: &apicontainer.HealthConfig{Test: test}}
	}
	tests := []struct {
		name string
		cfg  *apicontainer.Config
		cmd  []string // nil: no healthcheck
	}{
		{"none configured", &apicontainer.Config{}, nil},
		{"NONE", hc("NONE"), nil},
		{"empty test", hc(), nil},
		{"CMD", hc("CMD", "cat", "/x"), []string{"cat", "/x"}},
		{"CMD-SHELL", hc("CMD-SHELL", "test -f /x"), []string{"/bin/sh", "-c", "test -f /x"}},
		{"CMD-SHELL with SHELL", &apicontainer.Config{Shell: []string{"/bin/bash", "-ec"},
			Healthcheck: &apicontainer.HealthConfig{Test: []string{"CMD-SHELL", "true"}}}, []string{"/bin/bash", "-ec", "true"}},
		{"CMD without command", hc("CMD"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planHealth(tt.cfg)
			if tt.cmd == nil {
				if p != nil {
					t.Fatalf("got plan %+v", p)
				}
				return
			}
			if p == nil || !reflect.DeepEqual(p.cmd, tt.cmd) {
				t.Fatalf("got %+v, want cmd %q", p, tt.cmd)
			}
			if p.interval != 30*time.Second || p.timeout != 30*time.Second || p.retries != 3 || p.startInterval != 5*time.Second || p.startPeriod != 0 {
				t.Fatalf("defaults: %+v", p)
			}
		})
	}
}

func TestHealthStatusString(t *testing.T) {
	now := time.Now()
	up := container.State{Status: container.StatusRunning, StartedAt: now.Add(-5 * time.Second)}
	for _, tt := range []struct {
		health *container.Health
		want   string
	}{
		{nil, "Up 5 seconds"},
		{&container.Health{Status: container.HealthStarting}, "Up 5 seconds (health: starting)"},
		{&container.Health{Status: container.HealthHealthy}, "Up 5 seconds (healthy)"},
		{&container.Health{Status: container.HealthUnhealthy}, "Up 5 seconds (unhealthy)"},
	} {
		st := up
		st.Health = tt.health
		if got := statusString(st, now); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestMergeHealthcheck(t *testing.T) {
	img := &apicontainer.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 7}
	tests := []struct {
		name      string
		user, img *apicontainer.HealthConfig
		want      *apicontainer.HealthConfig
	}{
		{"neither", nil, nil, nil},
		{"image only", nil, img, img},
		{"user only", &apicontainer.HealthConfig{Test: []string{"NONE"}}, nil, &apicontainer.HealthConfig{Test: []string{"NONE"}}},
		{"user disables", &apicontainer.HealthConfig{Test: []string{"NONE"}}, img,
			&apicontainer.HealthConfig{Test: []string{"NONE"}, Interval: time.Second, Retries: 7}},
		{"user interval keeps image test", &apicontainer.HealthConfig{Interval: 2 * time.Second}, img,
			&apicontainer.HealthConfig{Test: []string{"CMD", "true"}, Interval: 2 * time.Second, Retries: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeHealthcheck(tt.user, tt.img); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
