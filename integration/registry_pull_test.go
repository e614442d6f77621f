package integration

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth/internal/testutil"
)

// randomImage is a small image for platform p with n random layers.
func randomImage(t *testing.T, p v1.Platform, n int) v1.Image {
	return randomImageSized(t, p, n, 64<<10)
}

func randomImageSized(t *testing.T, p v1.Platform, n int, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func ggcrTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestRegistryManifestListPlatformDigestAllTags: an index with amd64 and
// arm64 images; the daemon's platform is picked, --platform picks the
// other; pull by digest; pull -a; push -a.
func TestRegistryManifestListPlatformDigestAllTags(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: randomImage(t, amd, 2), Descriptor: v1.Descriptor{Platform: &amd}},
		mutate.IndexAddendum{Add: randomImage(t, arm, 2), Descriptor: v1.Descriptor{Platform: &arm}})
	ref := reg.Host + "/multi/app"
	if err := remote.WriteIndex(ggcrTag(t, ref+":1"), idx); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ggcrTag(t, ref+":2"), randomImage(t, amd, 1)); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			must(t, c, "pull", ref+":1")
			if got := must(t, c, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{.RepoDigests}}", ref+":1"); got != "linux/amd64 ["+ref+"@"+idxDigest.String()+"]" {
				t.Fatalf("picked %q", got)
			}
			must(t, c, "rmi", ref+":1")
			must(t, c, "pull", "--platform", "linux/arm64", ref+":1")
			if got := must(t, c, "image", "inspect", "-f", "{{.Architecture}}", ref+":1"); got != "arm64" {
				t.Fatalf("--platform linux/arm64 pulled %q", got)
			}
			must(t, c, "rmi", ref+":1")
			out := must(t, c, "pull", ref+"@"+idxDigest.String())
			if !strings.Contains(out, "Digest: "+idxDigest.String()) {
				t.Fatalf("pull by digest:\n%s", out)
			}
			bad := ref + "@sha256:" + strings.Repeat("0", 64)
			if _, stderr, code := c.run(t, "pull", bad); code == 0 || !strings.Contains(stderr, "manifest unknown") {
				t.Fatalf("unknown digest: exit %d %s", code, stderr)
			}
			must(t, c, "rmi", ref+"@"+idxDigest.String())
			out = must(t, c, "pull", "-a", ref)
			if !strings.Contains(out, "Status: Downloaded newer image for "+ref) {
				t.Fatalf("pull -a:\n%s", out)
			}
			must(t, c, "image", "inspect", ref+":1", ref+":2")
			// push -a sends every local tag of the repository.
			must(t, c, "tag", ref+":1", reg.Host+"/pushall/"+c.name+":a")
			must(t, c, "tag", ref+":2", reg.Host+"/pushall/"+c.name+":b")
			out = must(t, c, "push", "-a", reg.Host+"/pushall/"+c.name)
			if !strings.Contains(out, "a: digest: sha256:") || !strings.Contains(out, "b: digest: sha256:") {
				t.Fatalf("push -a:\n%s", out)
			}
			must(t, c, "rmi", ref+":1", ref+":2", reg.Host+"/pushall/"+c.name+":a", reg.Host+"/pushall/"+c.name+":b")
		})
	}
}

// faultyRegistry is an in-process registry whose layer blobs can be
// corrupted, truncated or slowed down.
type faultyRegistry struct {
	host   string
	mode   atomic.Value // "", "corrupt", "truncate", "slow"
	layers map[string]bool
	mu     sync.Mutex
	gets   atomic.Int32 // layer blob GETs
}

func startFaultyRegistry(t *testing.T) *faultyRegistry {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyRegistry{host: l.Addr().String(), layers: map[string]bool{}}
	f.mode.Store("")
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := f.mode.Load().(string)
		i := strings.LastIndex(r.URL.Path, "/blobs/")
		f.mu.Lock()
		isLayer := i >= 0 && f.layers[r.URL.Path[i+len("/blobs/"):]]
		f.mu.Unlock()
		if r.Method == http.MethodGet && isLayer {
			f.gets.Add(1)
		}
		if r.Method != http.MethodGet || !isLayer || mode == "" {
			inner.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}}
		inner.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		switch mode {
		case "corrupt":
			body = append([]byte(nil), body...)
			body[len(body)/2] ^= 0xff
			w.WriteHeader(rec.code)
			w.Write(body)
		case "truncate":
			w.WriteHeader(rec.code)
			w.Write(body[:len(body)/2])
			panic(http.ErrAbortHandler) // cut the connection short
		case "slow":
			w.WriteHeader(rec.code)
			for len(body) > 0 && r.Context().Err() == nil {
				n := min(len(body), 16<<10)
				w.Write(body[:n])
				w.(http.Flusher).Flush()
				body = body[n:]
				time.Sleep(100 * time.Millisecond)
			}
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

type bufferedResponse struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }

func (f *faultyRegistry) push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	if err := remote.Write(ggcrTag(t, ref), img); err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range ls {
		d, _ := l.Digest()
		f.layers[d.String()] = true
	}
}

// storedLayers counts the layer records and driver layers a daemon holds.
func storedLayers(t *testing.T, d *testutil.Daemon) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(d.DataRoot, "image", "layers", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestRegistryBadBlobsStoreNothing: a layer whose bytes do not match its
// digest, and one cut short, fail the pull and leave no image or layer.
func TestRegistryBadBlobsStoreNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	f := startFaultyRegistry(t)
	ref := f.host + "/bad/app:1"
	f.push(t, ref, randomImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, 2))
	d := testutil.StartDaemon(t)
	for _, c := range clis(t, d) {
		for _, mode := range []string{"corrupt", "truncate"} {
			f.mode.Store(mode)
			_, stderr, code := c.run(t, "pull", ref)
			if code == 0 {
				t.Fatalf("%s: %s pull succeeded", c.name, mode)
			}
			if !strings.Contains(stderr, "filesystem layer verification failed for digest sha256:") {
				t.Errorf("%s: corrupt layer error does not name the digest: %s", c.name, stderr)
			}
			if out := must(t, c, "images", "-q"); out != "" {
				t.Fatalf("%s: %s pull left images %q", c.name, mode, out)
			}
			if n := storedLayers(t, d); n != 0 {
				t.Fatalf("%s: %s pull left %d layers", c.name, mode, n)
			}
		}
	}
	f.mode.Store("")
	if out := must(t, clis(t, d)[0], "pull", ref); !strings.Contains(out, "Pull complete") {
		t.Fatalf("healthy pull:\n%s", out)
	}
}

// TestRegistryConcurrentPullsAndKillMidPull: two pulls of one image share
// the download and both succeed; a daemon killed mid-pull restarts with a
// consistent store and the next pull completes.
func TestRegistryConcurrentPullsAndKillMidPull(t *testing.T) {
	testutil.RequiresRoot(t)
	f := startFaultyRegistry(t)
	ref := f.host + "/slow/app:1"
	// 3 × 512 KiB at 160 KiB/s: a pull takes about 3 s.
	f.push(t, ref, randomImageSized(t, v1.Platform{OS: "linux", Architecture: "amd64"}, 3, 512<<10))
	d := testutil.StartDaemon(t)
	f.mode.Store("slow")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	codes := make([]int, 2)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			outs[i], _, codes[i] = d.Berth(t, "pull", ref)
		}(i)
	}
	wg.Wait()
	for i := range outs {
		if codes[i] != 0 || !strings.Contains(outs[i], "Digest: sha256:") {
			t.Fatalf("concurrent pull %d: exit %d\n%s", i, codes[i], outs[i])
		}
	}
	if n := f.gets.Load(); n != 3 {
		t.Errorf("two concurrent pulls of 3 layers fetched %d blobs, want 3 (shared)", n)
	}
	must(t, clis(t, d)[0], "rmi", ref)

	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Berth(t, "pull", ref)
	}()
	time.Sleep(1500 * time.Millisecond)
	d.Kill9(t)
	<-done
	d.Restart(t)
	if out := must(t, clis(t, d)[0], "images", "-q"); out != "" {
		t.Fatalf("killed pull left images %q", out)
	}
	f.mode.Store("")
	if out := must(t, clis(t, d)[0], "pull", ref); !strings.Contains(out, "Status: Downloaded newer image for "+ref) {
		t.Fatalf("pull after restart:\n%s", out)
	}
	if tmp, _ := os.ReadDir(filepath.Join(d.DataRoot, "distribution", "tmp")); len(tmp) != 0 {
		t.Fatalf("temp downloads left: %d", len(tmp))
	}
}
