package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func TestParseMount(t *testing.T) {
	tests := []struct {
		in   string
		want mount.Mount
		err  string
	}{
		{in: "type=volume,source=data,target=/d", want: mount.Mount{Type: "volume", Source: "data", Target: "/d"}},
		{in: "src=data,dst=/d,volume-nocopy", want: mount.Mount{Type: "volume", Source: "data", Target: "/d", VolumeOptions: &mount.VolumeOptions{NoCopy: true}}},
		{in: "type=bind,src=/h,target=/c,readonly,bind-propagation=rshared", want: mount.Mount{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: "rshared"}}},
		{in: "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", want: mount.Mount{Type: "tmpfs", Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o1770}}},
		{in: "type=volume,source=data", err: "target is required"},
		{in: "type=bind,bogus=1,target=/x", err: "unexpected key 'bogus'"},
		{in: "type=bind,target", err: "must be a key=value pair"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMount(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v %v", got, err)
			}
		})
	}
}
