package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"berth/internal/testutil"
)

func TestGoClientNegotiatesAndLists(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	cl := d.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := cl.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.APIVersion == "" || v.Os != "linux" {
		t.Fatalf("version %+v", v)
	}
	imgs, err := cl.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, im := range imgs.Items {
		for _, tag := range im.RepoTags {
			if tag == "busybox:latest" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("busybox:latest not listed: %+v", imgs)
	}
}

func TestEventsAndVersionThroughCLIs(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			since := time.Now().Add(-time.Second).Unix()
			name := testutil.UniqueName(t, "ev")
			must(t, c, "run", "--rm", "--name", name, "busybox", "true")
			until := time.Now().Add(time.Second).Unix()
			out := must(t, c, "events", "--since", itoa(since), "--until", itoa(until), "--filter", "container="+name, "--format", "{{.Action}}")
			for _, want := range []string{"create", "start", "die", "destroy"} {
				if !strings.Contains(out, want) {
					t.Fatalf("events lack %s:\n%s", want, out)
				}
			}
			if v := must(t, c, "version", "--format", "{{.Server.Os}}"); v != "linux" {
				t.Fatalf("version: %q", v)
			}
			if info := must(t, c, "info", "--format", "{{.OSType}} {{.CgroupDriver}}"); info != "linux cgroupfs" {
				t.Fatalf("info: %q", info)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
