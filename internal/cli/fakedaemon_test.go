package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeDaemon serves canned Engine API answers on a unix socket and records
// the calls it saw, so commands run end to end through the real moby
// client without a berth daemon.
type fakeDaemon struct {
	t      *testing.T
	host   string
	mu     sync.Mutex
	calls  []string
	routes map[string]http.HandlerFunc
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{t: t, routes: map[string]http.HandlerFunc{}}
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	d.host = "unix://" + sock
	return d
}

// handle registers a handler for "METHOD /path" (path without version).
func (d *fakeDaemon) handle(route string, h http.HandlerFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[route] = h
}

func (d *fakeDaemon) json(route string, status int, body any) {
	d.handle(route, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func (d *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	path := versionPrefix.ReplaceAllString(r.URL.Path, "")
	if path == "/_ping" {
		w.Header().Set("Api-Version", "1.50")
		w.Header().Set("Ostype", "linux")
		_, _ = w.Write([]byte("OK"))
		return
	}
	key := r.Method + " " + path
	d.mu.Lock()
	d.calls = append(d.calls, key+"?"+r.URL.RawQuery)
	h, ok := d.routes[key]
	d.mu.Unlock()
	if ok {
		h(w, r)
		return
	}
	apiError(w, http.StatusNotFound, "page not found: "+key)
}

func (d *fakeDaemon) callList() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// run executes the CLI against the fake daemon.
func (d *fakeDaemon) run(stdin string, args ...string) (string, string, int) {
	return runCLI(d.t, stdin, append([]string{"-H", d.host}, args...)...)
}

func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// hijack answers an attach request with 101 and writes stdcopy frames.
func hijack(w http.ResponseWriter, ready <-chan struct{}, frames []frame) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	_ = buf.Flush()
	if ready != nil {
		<-ready
	}
	for _, f := range frames {
		hdr := make([]byte, 8)
		hdr[0] = f.stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(f.data)))
		_, _ = buf.Write(hdr)
		_, _ = buf.WriteString(f.data)
	}
	_ = buf.Flush()
}

type frame struct {
	stream byte
	data   string
}
