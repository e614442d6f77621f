package daemon

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/backend"
	"berth/internal/daemon/events"
	"berth/internal/errdefs"
	"berth/internal/runtime"
)

func TestParseBind(t *testing.T) {
	tests := []struct {
		spec string
		want mountPoint
		err  string
	}{
		{spec: "data:/data", want: mountPoint{Type: mount.TypeVolume, Name: "data", Destination: "/data", RW: true, Mode: "z"}},
		{spec: "data:/data:ro", want: mountPoint{Type: mount.TypeVolume, Name: "data", Destination: "/data", Mode: "ro"}},
		{spec: "data:/data:nocopy", want: mountPoint{Type: mount.TypeVolume, Name: "data", Destination: "/data", RW: true, Mode: "nocopy", NoCopy: true}},
		{spec: "/h:/c/", want: mountPoint{Type: mount.TypeBind, Source: "/h", Destination: "/c", RW: true, Propagation: "rprivate", CreateHost: true}},
		{spec: "/h:/c:ro,rshared", want: mountPoint{Type: mount.TypeBind, Source: "/h", Destination: "/c", Mode: "ro,rshared", Propagation: "rshared", CreateHost: true}},
		{spec: "a:b:c:d", err: "invalid volume specification: 'a:b:c:d'"},
		{spec: "/h:rel", err: "mount path must be absolute"},
		{spec: "/h:/", err: "destination can't be '/'"},
		{spec: "/h:/c:bogus", err: "invalid mode: bogus"},
		{spec: "a/b:/c", err: "includes invalid characters for a local volume name"},
		{spec: "data:/c:rshared", err: "field Propagation must not be specified"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := parseBind(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errdefs.IsInvalidParameter(err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseMounts(t *testing.T) {
	cfg := &apicontainer.Config{Volumes: map[string]struct{}{"/img": {}, "/data": {}}}
	hc := &apicontainer.HostConfig{Binds: []string{"v1:/data"}, Tmpfs: map[string]string{"/t": "size=1m"}}
	mps, err := parseMounts(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	// The bind replaces the image's /data volume; /img becomes anonymous.
	if len(mps) != 2 || mps[0].Name != "v1" || mps[1].Destination != "/img" || !mps[1].Anonymous {
		t.Fatalf("mounts %+v", mps)
	}
	for name, hc := range map[string]*apicontainer.HostConfig{
		"duplicate":      {Binds: []string{"v1:/d", "/h:/d"}},
		"tmpfs relative": {Tmpfs: map[string]string{"t": ""}},
		"bind missing":   {Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/nonexistent-berth", Target: "/x"}}},
		"unknown type":   {Mounts: []mount.Mount{{Type: "weird", Target: "/x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseMounts(&apicontainer.Config{}, hc); !errdefs.IsInvalidParameter(err) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestTmpfsOptions(t *testing.T) {
	for in, want := range map[string][]string{
		"":                 {"nosuid", "nodev", "noexec"},
		"size=1m":          {"nosuid", "nodev", "noexec", "size=1m"},
		"exec,size=1m,rw":  {"nosuid", "nodev", "size=1m", "rw"},
		"suid,dev,mode=01": {"noexec", "mode=01"},
	} {
		if got := tmpfsOptions(in); !reflect.DeepEqual(got, want) {
			t.Errorf("tmpfsOptions(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSortMounts(t *testing.T) {
	got := sortMounts([]runtime.Mount{{Destination: "/etc/hosts"}, {Destination: "/etc"}, {Destination: "/a/b/c"}, {Destination: "/etc/hostname"}})
	var dsts []string
	for _, m := range got {
		dsts = append(dsts, m.Destination)
	}
	if want := []string{"/etc", "/etc/hosts", "/etc/hostname", "/a/b/c"}; !reflect.DeepEqual(dsts, want) {
		t.Fatalf("order %v", dsts)
	}
}

func TestVolumesListAndPrune(t *testing.T) {
	ctx := context.Background()
	v, err := newVolumes(t.TempDir(), events.New(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []apivolume.CreateRequest{
		{Name: "named", Labels: map[string]string{"team": "a"}},
		{Name: "used"},
		{Name: "other", Labels: map[string]string{"team": "b"}},
	} {
		if _, err := v.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	mps, err := v.prepare(ctx, "c1", &apicontainer.Config{Volumes: map[string]struct{}{"/anon": {}}},
		&apicontainer.HostConfig{Binds: []string{"used:/u"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v.mounts["c1"] = mps
	anon := mps[1].Name
	names := func(f backend.Filters) []string {
		t.Helper()
		res, err := v.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, vol := range res.Volumes {
			out = append(out, vol.Name)
		}
		return out
	}
	if got := names(backend.Filters{"dangling": {"true": true}}); !reflect.DeepEqual(got, []string{"named", "other"}) {
		t.Fatalf("dangling %v", got)
	}
	if got := names(backend.Filters{"label": {"team=a": true}}); !reflect.DeepEqual(got, []string{"named"}) {
		t.Fatalf("label %v", got)
	}
	if got := names(backend.Filters{"name": {"the": true}}); !reflect.DeepEqual(got, []string{"other"}) {
		t.Fatalf("name %v", got)
	}
	if _, err := v.List(ctx, backend.Filters{"bogus": {"1": true}}); !errdefs.IsInvalidParameter(err) {
		t.Fatalf("bogus filter %v", err)
	}
	if err := v.Remove(ctx, "used", false); !errdefs.IsConflict(err) || err.Error() != "remove used: volume is in use - [c1]" {
		t.Fatalf("remove in use: %v", err)
	}
	// Prune without "all" takes only unused anonymous volumes: none yet.
	rep, err := v.Prune(ctx, backend.Filters{})
	if err != nil || len(rep.VolumesDeleted) != 0 {
		t.Fatalf("prune %+v %v", rep, err)
	}
	v.release(ctx, "c1", false)
	rep, _ = v.Prune(ctx, backend.Filters{})
	if !reflect.DeepEqual(rep.VolumesDeleted, []string{anon}) {
		t.Fatalf("prune anonymous %+v", rep)
	}
	rep, _ = v.Prune(ctx, backend.Filters{"all": {"true": true}, "label!": {"team": true}})
	if !reflect.DeepEqual(rep.VolumesDeleted, []string{"used"}) {
		t.Fatalf("prune all label! %+v", rep)
	}
}

func TestMergeVolumesFrom(t *testing.T) {
	own := []mountPoint{
		{Type: mount.TypeBind, Source: "/host", Destination: "/b"},
		{Type: mount.TypeVolume, Destination: "/img", Anonymous: true},
		{Type: mount.TypeVolume, Destination: "/other", Anonymous: true},
	}
	from := []mountPoint{
		{Type: mount.TypeVolume, Name: "v1", Destination: "/img"},
		{Type: mount.TypeVolume, Name: "v2", Destination: "/b"},
		{Type: mount.TypeVolume, Name: "v3", Destination: "/new"},
		{Type: mount.TypeVolume, Name: "v4", Destination: "/new"},
	}
	got := mergeVolumesFrom(own, from)
	var desc []string
	for _, mp := range got {
		desc = append(desc, mp.Destination+"="+mp.Name+mp.Source)
	}
	want := "/img=v1 /new=v3 /b=/host /other="
	if strings.Join(desc, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(desc, " "), want)
	}
}
