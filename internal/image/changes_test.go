package image

import (
	"reflect"
	"testing"

	"berth/internal/errdefs"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	tests := []struct {
		change string
		check  func(c *dockerspec.DockerOCIImageConfig) any
		want   any
	}{
		{`CMD ["sh","-c","x"]`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Cmd }, []string{"sh", "-c", "x"}},
		{`CMD echo hi`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Cmd }, []string{"/bin/sh", "-c", "echo hi"}},
		{`ENTRYPOINT top -b`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Entrypoint }, []string{"/bin/sh", "-c", "top -b"}},
		{`ENV A=1 B="two words"`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Env }, []string{"PATH=/usr/bin", "A=1", "B=two words"}},
		{`ENV A legacy value`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Env }, []string{"PATH=/usr/bin", "A=legacy value"}},
		{`ENV PATH=$PATH:/x`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Env }, []string{"PATH=/usr/bin:/x"}},
		{`EXPOSE 80 53/udp 8000-8001`, func(c *dockerspec.DockerOCIImageConfig) any { return len(c.ExposedPorts) }, 4},
		{`LABEL a=b "c d"=e`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Labels }, map[string]string{"a": "b", "c d": "e"}},
		{`ONBUILD RUN make`, func(c *dockerspec.DockerOCIImageConfig) any { return c.OnBuild }, []string{"RUN make"}},
		{`STOPSIGNAL SIGINT`, func(c *dockerspec.DockerOCIImageConfig) any { return c.StopSignal }, "SIGINT"},
		{`USER nobody`, func(c *dockerspec.DockerOCIImageConfig) any { return c.User }, "nobody"},
		{`VOLUME ["/data", "/logs"]`, func(c *dockerspec.DockerOCIImageConfig) any { return len(c.Volumes) }, 2},
		{`VOLUME /a /b`, func(c *dockerspec.DockerOCIImageConfig) any { return len(c.Volumes) }, 2},
		{`WORKDIR sub`, func(c *dockerspec.DockerOCIImageConfig) any { return c.WorkingDir }, "/app/sub"},
		{`workdir /abs`, func(c *dockerspec.DockerOCIImageConfig) any { return c.WorkingDir }, "/abs"},
		{`HEALTHCHECK --interval=5s CMD true`, func(c *dockerspec.DockerOCIImageConfig) any { return c.Healthcheck.Test }, []string{"CMD-SHELL", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			cfg := &dockerspec.DockerOCIImageConfig{}
			cfg.Env = []string{"PATH=/usr/bin"}
			cfg.WorkingDir = "/app"
			if err := ApplyChanges(cfg, []string{tt.change}); err != nil {
				t.Fatal(err)
			}
			if got := tt.check(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	for change, msg := range map[string]string{
		"FOO bar":         "foo is not a valid change command",
		"RUN echo":        "run is not a valid change command",
		"STOPSIGNAL NOPE": "Invalid signal: NOPE",
		"EXPOSE abc":      "invalid containerPort: abc",
	} {
		err := ApplyChanges(&dockerspec.DockerOCIImageConfig{}, []string{change})
		if !errdefs.IsInvalidParameter(err) || err.Error() != msg {
			t.Errorf("%s: %v", change, err)
		}
	}
}
