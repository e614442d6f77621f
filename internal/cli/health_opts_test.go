package cli

import "testing"

func TestSetHealthOnFailure(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    string
		wantErr bool
	}{{"", "", false}, {"none", "none", false}, {"kill", "kill", false}, {"restart", "restart", false},
		{"stop", "stop", false}, {"pause", "", true}} {
		labels := map[string]string{}
		err := setHealthOnFailure(labels, tt.in)
		if (err != nil) != tt.wantErr || labels[healthOnFailureLabel] != tt.want {
			t.Errorf("%q: got %q, %v", tt.in, labels[healthOnFailureLabel], err)
		}
	}
}
