package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/internal/backend"
	"berth/internal/errdefs"
	"berth/internal/image"
)

// fakeBackend keeps images in memory; it has no containers, so only
// config-only Dockerfiles build on it.
type fakeBackend struct {
	mu     sync.Mutex
	images map[string]*image.Image
	tags   map[string]digest.Digest
}

func newFakeBackend() *fakeBackend {
	f := &fakeBackend{images: map[string]*image.Image{}, tags: map[string]digest.Digest{}}
	base := &image.Image{ID: digest.FromString("base")}
	base.Config.Config = dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}
	f.images[base.ID.String()], f.images["base"] = base, base
	return f
}

func (f *fakeBackend) Image(_ context.Context, ref string) (*image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img := f.images[ref]; img != nil {
		return img, nil
	}
	return nil, errdefs.NotFoundf("No such image: %s", ref)
}

func (f *fakeBackend) Commit(_ context.Context, o image.CommitOptions) (*image.Image, error) {
	if o.Container != "" {
		return nil, errors.New("no containers here")
	}
	raw, _ := json.Marshal([]any{o.Parent, o.Config, o.CreatedBy, o.Author})
	img := &image.Image{ID: digest.FromBytes(raw), Parent: o.Parent}
	img.Config.Config, img.Config.Author = o.Config, o.Author
	img.Config.History = []ocispec.History{{CreatedBy: o.CreatedBy, EmptyLayer: true}}
	f.mu.Lock()
	f.images[img.ID.String()] = img
	f.mu.Unlock()
	return img, nil
}

func (f *fakeBackend) CreateContainer(context.Context, *apicontainer.Config, *apicontainer.HostConfig) (string, error) {
	return "", errors.New("no containers here")
}
func (f *fakeBackend) RunContainer(context.Context, string, io.Writer, io.Writer) (int, error) {
	return 0, errors.New("no containers here")
}
func (f *fakeBackend) MountContainer(context.Context, string) (string, error) { return "", nil }
func (f *fakeBackend) UnmountContainer(context.Context, string) error         { return nil }
func (f *fakeBackend) RemoveContainer(context.Context, string) error          { return nil }
func (f *fakeBackend) TagImage(_ context.Context, id digest.Digest, ref string) error {
	f.tags[ref] = id
	return nil
}

type textOut struct {
	bytes.Buffer
	aux string
}

func (o *textOut) Aux(id string) { o.aux = id }

func contextTar(t *testing.T, dockerfile string) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg})
	tw.Write([]byte(dockerfile))
	tw.Close()
	return &buf
}

func TestDispatchConfig(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("extracting a context keeps its owners: needs root")
	}
	tests := []struct {
		name, dockerfile string
		check            func(t *testing.T, c dockerspec.DockerOCIImageConfig, author string)
	}{
		{"entrypoint drops the base cmd", "FROM base\nENTRYPOINT [\"/bin/app\"]\n", func(t *testing.T, c dockerspec.DockerOCIImageConfig, _ string) {
			if len(c.Cmd) != 0 || c.Entrypoint[0] != "/bin/app" {
				t.Fatalf("cmd %v entrypoint %v", c.Cmd, c.Entrypoint)
			}
		}},
		{"cmd in the stage survives entrypoint", "FROM base\nCMD [\"x\"]\nENTRYPOINT e\n", func(t *testing.T, c dockerspec.DockerOCIImageConfig, _ string) {
			if strings.Join(c.Cmd, " ") != "x" || strings.Join(c.Entrypoint, " ") != "/bin/sh -c e" {
				t.Fatalf("cmd %v entrypoint %v", c.Cmd, c.Entrypoint)
			}
		}},
		{"env, arg and label expansion", "FROM base\nARG WHO=world\nENV GREETING=\"hello $WHO\" EMPTY=\nLABEL msg=$GREETING\n", func(t *testing.T, c dockerspec.DockerOCIImageConfig, _ string) {
			if c.Labels["msg"] != "hello world" || !contains(c.Env, "GREETING=hello world") || !contains(c.Env, "EMPTY=") {
				t.Fatalf("labels %v env %v", c.Labels, c.Env)
			}
			if contains(c.Env, "WHO=world") {
				t.Fatal("an ARG leaked into the image env")
			}
		}},
		{"shell form uses SHELL", "FROM base\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\n", func(t *testing.T, c dockerspec.DockerOCIImageConfig, _ string) {
			if strings.Join(c.Cmd, "|") != "/bin/bash|-c|echo hi" {
				t.Fatalf("cmd %q", c.Cmd)
			}
		}},
		{"the rest", "FROM scratch\nMAINTAINER me\nUSER 1000:1000\nEXPOSE 80 53/udp\nVOLUME [\"/a\", \"/b\"]\nSTOPSIGNAL SIGTERM\nONBUILD RUN x\nHEALTHCHECK --retries=2 CMD true\n",
			func(t *testing.T, c dockerspec.DockerOCIImageConfig, author string) {
				_, p80 := c.ExposedPorts["80/tcp"]
				_, p53 := c.ExposedPorts["53/udp"]
				if author != "me" || c.User != "1000:1000" || !p80 || !p53 || len(c.Volumes) != 2 || c.StopSignal != "SIGTERM" ||
					strings.Join(c.OnBuild, "") != "RUN x" || c.Healthcheck.Retries != 2 || !contains(c.Env, "PATH="+defaultPath) {
					t.Fatalf("config %+v author %q", c, author)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			bd, err := New(t.TempDir(), fb)
			if err != nil {
				t.Fatal(err)
			}
			out := &textOut{}
			id, err := bd.Build(context.Background(), contextTar(t, tt.dockerfile), backend.BuildOptions{Tags: []string{"x:1"}}, out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			img := fb.images[id.String()]
			tt.check(t, img.Config.Config, img.Config.Author)
			if fb.tags["x:1"] != id || out.aux != id.String() || !strings.Contains(out.String(), "Successfully tagged x:1") {
				t.Fatalf("tags %v aux %q output:\n%s", fb.tags, out.aux, out.String())
			}
			// The second build is all cache, and yields the same image.
			again := &textOut{}
			id2, err := bd.Build(context.Background(), contextTar(t, tt.dockerfile), backend.BuildOptions{}, again)
			steps := strings.Count(tt.dockerfile, "\n") - 1
			if err != nil || id2 != id || strings.Count(again.String(), "Using cache") != steps {
				t.Fatalf("rebuild: %v %s vs %s\n%s", err, id2, id, again.String())
			}
			fresh := &textOut{}
			if _, err := bd.Build(context.Background(), contextTar(t, tt.dockerfile), backend.BuildOptions{NoCache: true}, fresh); err != nil || strings.Contains(fresh.String(), "Using cache") {
				t.Fatalf("--no-cache: %v\n%s", err, fresh.String())
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
