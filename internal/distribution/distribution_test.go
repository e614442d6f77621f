package distribution

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"berth/internal/errdefs"
	"berth/internal/image"
)

func TestIsInsecure(t *testing.T) {
	s := &Service{cfg: Config{Insecure: []string{"reg.example:5000", "10.1.0.0/16", "plain.example"}}}
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"127.8.9.1", true},
		{"[::1]:5000", true},
		{"localhost:5000", false}, // names are not resolved
		{"reg.example:5000", true},
		{"reg.example:5001", false},
		{"plain.example:443", true},
		{"10.1.2.3:5000", true},
		{"10.2.0.1:5000", false},
		{"registry-1.docker.io", false},
	} {
		if got := s.isInsecure(tt.host); got != tt.want {
			t.Errorf("isInsecure(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestEndpointsMirrorsOnlyForHub(t *testing.T) {
	s := &Service{cfg: Config{Mirrors: []string{"http://127.0.0.1:5001", "https://mirror.example", "::bad"}}}
	got := s.endpoints("docker.io", false)
	want := []endpoint{{host: "127.0.0.1:5001", insecure: true, mirror: true}, {host: "mirror.example", mirror: true}, {host: "registry-1.docker.io"}}
	if len(got) != len(want) {
		t.Fatalf("endpoints = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("endpoint %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := s.endpoints("docker.io", true); len(got) != 1 || got[0].host != "registry-1.docker.io" {
		t.Errorf("push endpoints = %+v, want Hub only", got)
	}
	if got := s.endpoints("reg.example:5000", false); len(got) != 1 || got[0].host != "reg.example:5000" {
		t.Errorf("non-Hub endpoints = %+v", got)
	}
}

func TestPickPlatform(t *testing.T) {
	img, err := random.Image(16, 1)
	if err != nil {
		t.Fatal(err)
	}
	plat := func(os, arch, variant string) *v1.Platform {
		return &v1.Platform{OS: os, Architecture: arch, Variant: variant}
	}
	var adds []mutate.IndexAddendum
	for _, p := range []*v1.Platform{plat("linux", "arm", "v6"), plat("linux", "arm", "v7"), plat("linux", "amd64", ""), plat("windows", "amd64", ""), plat("unknown", "unknown", "")} {
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	im, _ := idx.IndexManifest()
	for _, tt := range []struct {
		want    v1.Platform
		index   int // -1: no match
		wording string
	}{
		{v1.Platform{OS: "linux", Architecture: "amd64"}, 2, ""},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, 1, ""},
		{v1.Platform{OS: "linux", Architecture: "arm"}, 0, ""},
		{v1.Platform{OS: "linux", Architecture: "s390x"}, -1, "no matching manifest for linux/s390x in the manifest list entries"},
	} {
		got, err := pickPlatform(idx, tt.want)
		if tt.index < 0 {
			if err == nil || err.Error() != tt.wording || !errdefs.IsNotFound(err) {
				t.Errorf("%v: err %v", tt.want, err)
			}
			continue
		}
		// Equal images share a digest; compare by position via platform.
		if err != nil || got != im.Manifests[tt.index].Digest {
			t.Errorf("%v: got %v %v", tt.want, got, err)
		}
	}
}

func TestPullErrorWording(t *testing.T) {
	named, _ := reference.ParseNormalizedNamed("127.0.0.1:5000/team/app:1")
	hub, _ := reference.ParseNormalizedNamed("nope")
	hub = reference.TagNameOnly(hub)
	diag := func(code transport.ErrorCode, msg string) *transport.Error {
		return &transport.Error{StatusCode: 404, Errors: []transport.Diagnostic{{Code: code, Message: msg}}}
	}
	for _, tt := range []struct {
		name  string
		ref   reference.Named
		err   error
		want  string
		class errdefs.Class
	}{
		{"manifest unknown", named, diag(transport.ManifestUnknownErrorCode, "manifest unknown"),
			"manifest for 127.0.0.1:5000/team/app:1 not found: manifest unknown: manifest unknown", errdefs.ClassNotFound},
		{"denied", hub, &transport.Error{StatusCode: 401, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode, Message: "authentication required"}}},
			"pull access denied for nope, repository does not exist or may require 'docker login': unauthorized: authentication required", errdefs.ClassNotFound},
		{"bare 403", named, &transport.Error{StatusCode: 403},
			"pull access denied for 127.0.0.1:5000/team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", errdefs.ClassNotFound},
		{"name unknown", named, diag(transport.NameUnknownErrorCode, "repository name not known to registry"),
			"repository 127.0.0.1:5000/team/app not found: name unknown: repository name not known to registry", errdefs.ClassNotFound},
		{"other", named, errors.New("boom"), "boom", errdefs.ClassSystem},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := pullError(tt.ref, tt.err)
			if err.Error() != tt.want || errdefs.ClassOf(err) != tt.class {
				t.Errorf("got %q (class %v), want %q (class %v)", err, errdefs.ClassOf(err), tt.want, tt.class)
			}
		})
	}
}

func TestParseReferenceInvalid(t *testing.T) {
	for _, ref := range []string{"Bad", "a::b", "", "x@sha256:short"} {
		_, err := ParseReference(ref)
		if err == nil || !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "invalid reference format") {
			t.Errorf("ParseReference(%q) = %v", ref, err)
		}
	}
}

func TestServerHost(t *testing.T) {
	for in, want := range map[string]string{
		"": "docker.io", "https://index.docker.io/v1/": "docker.io", "docker.io": "docker.io",
		"127.0.0.1:5000": "127.0.0.1:5000", "https://reg.example/": "reg.example", "http://h:1/v2/": "h:1",
	} {
		if got := ServerHost(in); got != want {
			t.Errorf("ServerHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCertPoolFromCertsDir(t *testing.T) {
	dir := t.TempDir()
	s := &Service{cfg: Config{CertsDir: dir}}
	_, fp0, err := s.certPool("reg.example:5000")
	if err != nil || fp0 != "" {
		t.Fatalf("no dir: %q %v", fp0, err)
	}
	os.MkdirAll(filepath.Join(dir, "reg.example:5000"), 0o755)
	os.WriteFile(filepath.Join(dir, "reg.example:5000", "ca.crt"), []byte("not a cert"), 0o644)
	if _, _, err := s.certPool("reg.example:5000"); err == nil || !errdefs.IsInvalidParameter(err) {
		t.Fatalf("bad PEM: %v", err)
	}
	if _, fp, _ := s.certPool("../etc"); fp != "" {
		t.Fatalf("a host with a slash read %q", fp)
	}
}

func TestForceScheme(t *testing.T) {
	var seen []string
	rt := forceScheme{host: "h:1", scheme: "https", rt: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.String())
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
	})}
	for _, u := range []string{"http://h:1/v2/", "https://h:1/v2/", "http://token.example/x"} {
		req, _ := http.NewRequest("GET", u, nil)
		rt.RoundTrip(req)
	}
	want := []string{"https://h:1/v2/", "https://h:1/v2/", "http://token.example/x"}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("request %d went to %s, want %s", i, seen[i], want[i])
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFollowReader: a reader sees bytes as they are written, waits for
// more, gets EOF only when the download is done and its error otherwise.
func TestFollowReader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		failErr error
	}{{"ok", nil}, {"fails", errors.New("digest mismatch")}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.CreateTemp(t.TempDir(), "blob")
			if err != nil {
				t.Fatal(err)
			}
			dl := &download{path: f.Name()}
			dl.cond = newCond(dl)
			rc, err := dl.reader(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			go func() {
				for _, part := range []string{"hello ", "world"} {
					time.Sleep(20 * time.Millisecond)
					f.WriteString(part)
					dl.mu.Lock()
					dl.written += int64(len(part))
					dl.cond.Broadcast()
					dl.mu.Unlock()
				}
				dl.mu.Lock()
				dl.done, dl.err = true, tt.failErr
				dl.cond.Broadcast()
				dl.mu.Unlock()
			}()
			b, err := io.ReadAll(rc)
			if string(b) != "hello world" {
				t.Fatalf("read %q", b)
			}
			if !errors.Is(err, tt.failErr) {
				t.Fatalf("err %v, want %v", err, tt.failErr)
			}
		})
	}
}

// TestDownloadsShareAndResume: two holders of one blob share one fetch; a
// transfer that breaks resumes from its offset; a bad digest fails the
// readers; the file goes with the last holder.
func TestDownloadsShareAndResume(t *testing.T) {
	blob := []byte(strings.Repeat("layer-bytes ", 10000))
	d := digest.FromBytes(blob)
	var fetches, ranged int
	fetch := func(ctx context.Context, off int64) (io.ReadCloser, bool, error) {
		fetches++
		if off > 0 {
			ranged++
			return io.NopCloser(strings.NewReader(string(blob[off:]))), true, nil
		}
		// The first transfer breaks halfway.
		return io.NopCloser(io.MultiReader(strings.NewReader(string(blob[:len(blob)/2])), errReader{io.ErrUnexpectedEOF})), false, nil
	}
	ds := newDownloads(t.TempDir(), 2)
	ctx := context.Background()
	a, err := ds.start(ctx, d, fetch, int64(len(blob)), func(string, int64) {})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ds.start(ctx, d, fetch, int64(len(blob)), func(string, int64) {})
	if a != b {
		t.Fatal("second start did not join the first")
	}
	for _, dl := range []*download{a, b} {
		rc, _ := dl.reader(ctx)
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != string(blob) {
			t.Fatalf("read %d bytes, err %v", len(got), err)
		}
	}
	if fetches != 2 || ranged != 1 {
		t.Fatalf("fetches %d (ranged %d), want 2 (1)", fetches, ranged)
	}
	ds.release(a)
	if _, err := os.Stat(a.path); err != nil {
		t.Fatal("file removed while a holder remains")
	}
	ds.release(b)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := os.Stat(a.path); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("file kept after the last holder")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Bytes that do not match the digest never end in EOF.
	bad, _ := ds.start(ctx, digest.FromString("other"), func(context.Context, int64) (io.ReadCloser, bool, error) {
		return io.NopCloser(strings.NewReader(string(blob))), false, nil
	}, 0, func(string, int64) {})
	rc, _ := bad.reader(ctx)
	_, err = io.ReadAll(rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("bad digest: %v", err)
	}
	ds.release(bad)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestBuildManifest(t *testing.T) {
	gz := &pushLayer{info: image.BlobInfo{MediaType: image.MediaTypeLayerGzip, Size: 3, Digest: digest.FromString("a")}}
	zst := &pushLayer{info: image.BlobInfo{MediaType: image.MediaTypeLayerZstd, Size: 4, Digest: digest.FromString("b")}}
	cfg := []byte(`{}`)
	m := buildManifest(cfg, []*pushLayer{gz})
	if m.MediaType != mediaTypeManifest || m.Config.MediaType != mediaTypeConfig || m.Config.Digest != digest.FromBytes(cfg) || m.Layers[0].MediaType != image.MediaTypeLayerGzip {
		t.Fatalf("schema2: %+v", m)
	}
	m = buildManifest(cfg, []*pushLayer{gz, zst})
	if m.MediaType != mediaTypeOCIManifest || m.Config.MediaType != mediaTypeOCIConfig || m.Layers[0].MediaType != mediaTypeOCILayerGzip || m.Layers[1].MediaType != image.MediaTypeLayerZstd {
		t.Fatalf("oci: %+v", m)
	}
}
