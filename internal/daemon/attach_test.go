package daemon

import (
	"bytes"
	"testing"

	"berth/internal/errdefs"
)

func TestParseDetachKeys(t *testing.T) {
	tests := []struct {
		spec string
		want []byte
		bad  bool
	}{
		{"", []byte{16, 17}, false},
		{"ctrl-p,ctrl-q", []byte{16, 17}, false},
		{"ctrl-a", []byte{1}, false},
		{"a,b", []byte{'a', 'b'}, false},
		{"ctrl-", nil, true},
		{"ctrl-p,", nil, true},
		{"nope", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseDetachKeys(tt.spec)
			if tt.bad {
				if !errdefs.IsInvalidParameter(err) || err.Error() != "Invalid detach keys ("+tt.spec+") provided" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
