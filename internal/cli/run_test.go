package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// runDaemon fakes the endpoints of a foreground run: create (optionally
// 404 once for the missing image), attach, wait and start.
func runDaemon(t *testing.T, exit int, missingImage bool, startErr string) (*fakeDaemon, *container.CreateRequest) {
	d := newFakeDaemon(t)
	var body container.CreateRequest
	started := make(chan struct{})
	var once sync.Once
	creates := 0
	d.handle("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		creates++
		if missingImage && creates == 1 {
			apiError(w, http.StatusNotFound, "No such image: busybox:latest")
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, http.StatusCreated, map[string]any{"Id": "c0ffee", "Warnings": []string{}})
	})
	d.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "Pulled busybox"})
	})
	d.handle("POST /containers/c0ffee/attach", func(w http.ResponseWriter, r *http.Request) {
		hijack(w, started, []frame{{1, "hello out\n"}, {2, "hello err\n"}})
	})
	d.handle("POST /containers/c0ffee/wait", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-started
		_ = json.NewEncoder(w).Encode(map[string]any{"StatusCode": exit})
	})
	d.handle("POST /containers/c0ffee/start", func(w http.ResponseWriter, r *http.Request) {
		if startErr != "" {
			once.Do(func() { close(started) })
			apiError(w, http.StatusBadRequest, startErr)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		once.Do(func() { close(started) })
	})
	return d, &body
}

func TestRunForegroundFlow(t *testing.T) {
	d, body := runDaemon(t, 3, false, "")
	out, stderr, code := d.run("", "run", "--rm", "-e", "A=1", "busybox", "echo", "hi")
	if code != 3 {
		t.Errorf("exit = %d, want 3 (stderr %q)", code, stderr)
	}
	if out != "hello out\n" || stderr != "hello err\n" {
		t.Errorf("out %q err %q", out, stderr)
	}
	var order []string
	for _, c := range d.callList() {
		path, query, _ := strings.Cut(c, "?")
		if strings.Contains(path, "/wait") {
			if !strings.Contains(query, "condition=removed") {
				t.Errorf("wait query %q lacks condition=removed", query)
			}
		}
		order = append(order, path)
	}
	want := []string{"POST /containers/create", "POST /containers/c0ffee/attach", "POST /containers/c0ffee/wait", "POST /containers/c0ffee/start"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v, want %v", order, want)
	}
	if body.Image != "busybox" || strings.Join(body.Cmd, " ") != "echo hi" || !body.HostConfig.AutoRemove {
		t.Errorf("create body = %+v", body)
	}
	if !body.AttachStdout || !body.AttachStderr || body.AttachStdin {
		t.Errorf("attach flags = %v %v %v", body.AttachStdin, body.AttachStdout, body.AttachStderr)
	}
}

func TestRunPullsMissingImage(t *testing.T) {
	d, _ := runDaemon(t, 0, true, "")
	_, stderr, code := d.run("", "run", "busybox")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "Unable to find image 'busybox:latest' locally\n") {
		t.Errorf("stderr = %q", stderr)
	}
	calls := strings.Join(d.callList(), "\n")
	if !strings.Contains(calls, "POST /images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest") {
		t.Errorf("no pull in calls:\n%s", calls)
	}
}

func TestRunDetached(t *testing.T) {
	d, _ := runDaemon(t, 0, false, "")
	out, _, code := d.run("", "run", "-d", "busybox")
	if code != 0 || out != "c0ffee\n" {
		t.Fatalf("got %q (%d)", out, code)
	}
}

func TestRunStartErrorExitCodes(t *testing.T) {
	tests := []struct {
		msg  string
		code int
	}{
		{`failed to create task: exec: "nope": executable file not found in $PATH`, 127},
		{`exec /bin/x: no such file or directory`, 127},
		{`exec /etc/passwd: permission denied`, 126},
		{`cannot start: something else`, 125},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			d, _ := runDaemon(t, 0, false, tt.msg)
			_, stderr, code := d.run("", "run", "busybox", "nope")
			if code != tt.code {
				t.Errorf("exit = %d, want %d", code, tt.code)
			}
			want := "berth: Error response from daemon: " + tt.msg + "\n\nRun 'berth run --help' for more information\n"
			if stderr != want {
				t.Errorf("stderr = %q\nwant %q", stderr, want)
			}
		})
	}
}

func TestCreatePrintsID(t *testing.T) {
	d, body := runDaemon(t, 0, false, "")
	out, _, code := d.run("", "create", "--name", "web", "-t", "-i", "busybox", "sh")
	if code != 0 || out != "c0ffee\n" {
		t.Fatalf("got %q (%d)", out, code)
	}
	if !body.Tty || !body.OpenStdin || !body.AttachStdin || !body.StdinOnce {
		t.Errorf("tty/stdin flags wrong: %+v", body.Config)
	}
	if !strings.Contains(strings.Join(d.callList(), "\n"), "POST /containers/create?name=web") {
		t.Errorf("name not passed: %v", d.callList())
	}
}
