package shim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
	"berth/internal/logger"
	"berth/internal/runtime"
)

// loggerEntries runs data through logger.JSONFile, the reference the C
// monitor must match byte for byte (timestamps aside), and returns the log
// files it wrote, live file first.
func loggerEntries(t *testing.T, data []byte, maxSize int64, maxFiles int) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.log")
	l, err := logger.NewJSONFile(path, maxSize, maxFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Copy("stdout", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	return readLogFiles(t, path, maxFiles)
}

func readLogFiles(t *testing.T, path string, maxFiles int) [][]byte {
	t.Helper()
	var files [][]byte
	for i := 0; i < max(maxFiles, 1); i++ {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			break
		}
		files = append(files, timeRE.ReplaceAll(b, []byte(`"time":"T"`)))
	}
	return files
}

var timeRE = regexp.MustCompile(`"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"`)

// hostile is output no sane program writes: every byte value, invalid and
// truncated UTF-8, surrogates, overlongs, U+2028/2029, quotes, and lines
// longer than the 16 KiB split.
func hostile(seed int64, n int) []byte {
	r := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	for i := 0; i < 256; i++ {
		b.WriteByte(byte(i))
	}
	for _, s := range []string{"\xed\xa0\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "\u2028\u2029", "\xe2\x80", "héllo \"wörld\" \\ \t\r", "\xef\xbf\xbd"} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.Write(bytes.Repeat([]byte("é"), 9000)) // a 16 KiB split inside a rune
	for b.Len() < n {
		switch r.Intn(4) {
		case 0:
			b.WriteByte('\n')
		case 1:
			b.Write(bytes.Repeat([]byte{byte(r.Intn(256))}, r.Intn(40000)))
		default:
			chunk := make([]byte, r.Intn(300))
			r.Read(chunk)
			b.Write(chunk)
		}
	}
	b.WriteString("no newline at the end \xff")
	return b.Bytes()
}

func TestMonitorJSONStringMatchesLogger(t *testing.T) {
	if !haveMonitor {
		t.Skip("built without cgo")
	}
	cases := [][]byte{nil, []byte("plain"), []byte("\x00\x1f\x7f\"\\</>&"), []byte("\xed\xa0\x80\xed\xbf\xbf"),
		[]byte("\xc2"), []byte("\xe2\x80\xa8x\xe2\x80\xa9"), []byte("\xf4\x8f\xbf\xbf\xf4\x90\x80\x80"),
		[]byte("\xf0\x90\x80"), []byte("\xe0\x9f\xbf\xe0\xa0\x80"), []byte("\xed\x9f\xbf\xee\x80\x80"), []byte("\xff\xfe\xc1\xbf")}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		c := make([]byte, r.Intn(64))
		r.Read(c)
		cases = append(cases, c)
	}
	for i, c := range cases {
		// One entry per case: no newline inside, well under 16 KiB.
		c = bytes.ReplaceAll(c, []byte("\n"), []byte("n"))
		if len(c) == 0 {
			continue // logger writes no entry for no output
		}
		ref := loggerEntries(t, c, 0, 1)[0]
		want := ref[len(`{"log":`):bytes.LastIndex(ref, []byte(`,"stream":"stdout"`))]
		if got := monitorJSONString(c); !bytes.Equal(got, want) {
			t.Fatalf("case %d %q: monitor %s, logger %s", i, c, got, want)
		}
	}
}

// TestMonitorLogMatchesLogger runs hostile output through a real container
// with rotation and compares every log file with what logger.JSONFile
// writes for the same bytes.
func TestMonitorLogMatchesLogger(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxSize  int64
		maxFiles int
	}{
		{"no rotation", 0, 1},
		{"rotate keep 3", 64 << 10, 3},
		{"rotate keep 1", 100 << 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, opts := newContainer(t, "cat", "/hostile")
			data := hostile(int64(len(tc.name)), 300<<10)
			opts.LogMaxSize, opts.LogMaxFiles = tc.maxSize, tc.maxFiles
			cfg.Mounts = append(cfg.Mounts, hostFileMount(t, data))
			c := startContainer(t, cfg, opts)
			if e := wait(t, c); e.Code != 0 {
				t.Fatalf("exit %+v", e)
			}
			want := loggerEntries(t, data, tc.maxSize, tc.maxFiles)
			got := readLogFiles(t, opts.LogPath, tc.maxFiles)
			if len(got) != len(want) {
				t.Fatalf("%d log files, logger writes %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("log file %d differs from logger's (%d vs %d bytes)", i, len(got[i]), len(want[i]))
				}
			}
		})
	}
}

// TestMonitorBurst checks that output written at full speed is logged
// completely before the exit is reported, on both streams.
func TestMonitorBurst(t *testing.T) {
	var data bytes.Buffer
	for i := 0; i < 200000; i++ {
		fmt.Fprintf(&data, "line %d %s\n", i, strings.Repeat("x", i%100))
	}
	cfg, opts := newContainer(t, "sh", "-c", "cat /hostile & cat /hostile >&2; wait; exit 3")
	cfg.Mounts = append(cfg.Mounts, hostFileMount(t, data.Bytes()))
	c := startContainer(t, cfg, opts)
	if e := wait(t, c); e.Code != 3 {
		t.Fatalf("exit %+v", e)
	}
	b, err := os.ReadFile(opts.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e struct{ Log, Stream string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		if e.Stream == "stderr" {
			errs.WriteString(e.Log)
		} else {
			out.WriteString(e.Log)
		}
	}
	if stdout, stderr := out.String(), errs.String(); stdout != data.String() || stderr != data.String() {
		t.Errorf("logged %d/%d bytes of stdout/stderr, want %d each", len(stdout), len(stderr), data.Len())
	}
}

// TestGoSteadyState covers the fallback: a spec the C monitor does not
// handle (here: a poststop hook) keeps the Go steady state, which must
// behave the same.
func TestGoSteadyState(t *testing.T) {
	cfg, opts := newContainer(t, "sh", "-c", "echo out; echo err >&2; sleep 0.5; exit 5")
	spec := specFor(t, cfg)
	spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}}
	opts.Spec = spec
	c, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmdline, _ := os.ReadFile(filepath.Join("/proc", shimPid(t, opts.StateDir), "cmdline"))
	if bytes.Contains(cmdline, []byte("--monitor")) {
		t.Error("the C monitor took a container with hooks")
	}
	if e := wait(t, c); e.Code != 5 {
		t.Fatalf("exit %+v", e)
	}
	if stdout, stderr := readLog(t, opts.LogPath); stdout != "out\n" || stderr != "err\n" {
		t.Errorf("log %q %q", stdout, stderr)
	}
	waitGone(t, opts.StateDir)
}

// hostFileMount binds a file holding data at /hostile in the container.
func hostFileMount(t *testing.T, data []byte) runtime.Mount {
	t.Helper()
	f := filepath.Join(t.TempDir(), "hostile")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return runtime.Mount{Source: f, Destination: "/hostile", Type: "bind", Options: []string{"rbind", "ro"}}
}

func specFor(t *testing.T, cfg *runtime.Config) *specs.Spec {
	t.Helper()
	spec, err := runtime.Spec(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestMonitorTakesOver checks that a plain container's shim runs as the C
// monitor, small, and that it answers the protocol as the Go server does.
func TestMonitorTakesOver(t *testing.T) {
	if !haveMonitor {
		t.Skip("built without cgo")
	}
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	pid := shimPid(t, opts.StateDir)
	var status []byte
	for try := 0; try < 100; try++ {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		if bytes.Contains(cmdline, []byte("\x00--monitor\x00")) {
			status, _ = os.ReadFile(filepath.Join("/proc", pid, "status"))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status == nil {
		t.Fatal("the shim did not hand over to the C monitor")
	}
	var rss int
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			fmt.Sscan(strings.TrimPrefix(l, "VmRSS:"), &rss)
		}
	}
	if rss == 0 || rss > 6<<10 {
		t.Errorf("monitor VmRSS = %d kB, want at most 6 MB", rss)
	}

	ctx := t.Context()
	if c2, err := Connect(ctx, opts.StateDir); err != nil || c2.Pid() != c.Pid() {
		t.Errorf("Connect = %v, %v; want pid %d", c2, err, c.Pid())
	}
	if _, err := c.call(ctx, request{Op: "bogus\"op"}); !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), `unknown request "bogus\"op"`) {
		t.Errorf("unknown op: %v", err)
	}
	if err := c.Signal(ctx, 0); err != nil {
		t.Errorf("signal 0: %v", err)
	}
	if err := c.Signal(ctx, syscall.SIGTERM); err != nil { // pid 1 ignores it
		t.Errorf("SIGTERM: %v", err)
	}
	if err := c.Signal(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, c); e.Code != 137 {
		t.Errorf("exit %+v, want 137", e)
	}
	if err := c.Signal(ctx, syscall.SIGKILL); err == nil {
		t.Error("signal after exit succeeded")
	}
}
