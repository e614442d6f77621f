package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

func (s *Server) containerRoutes() {
	s.handle("POST /containers/create", s.postContainersCreate)
	s.handle("GET /containers/json", s.getContainersJSON)
	s.handle("GET /containers/{id}/json", s.getContainerJSON)
	s.handle("POST /containers/{id}/start", s.postContainerStart)
	s.handle("POST /containers/{id}/stop", s.postContainerStop)
	s.handle("POST /containers/{id}/restart", s.postContainerRestart)
	s.handle("POST /containers/{id}/kill", s.postContainerKill)
	s.handle("POST /containers/{id}/wait", s.postContainerWait)
	s.handle("DELETE /containers/{id}", s.deleteContainer)
	s.handle("GET /containers/{id}/logs", s.getContainerLogs)
	s.handle("POST /containers/{id}/attach", s.postContainerAttach)
	s.handle("POST /containers/{id}/rename", s.postContainerRename)
}

// decodeJSON reads a request body strictly enough to give Docker's 400s.
func decodeJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return errdefs.InvalidParameterf("invalid JSON: request body is empty")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errdefs.InvalidParameterf("invalid JSON: request body is empty")
		}
		return errdefs.InvalidParameterf("invalid JSON: %v", err)
	}
	return nil
}

func (s *Server) postContainersCreate(w http.ResponseWriter, r *http.Request) error {
	var req apicontainer.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.createContainer(r.Context(), r.URL.Query().Get("name"), req)
	if err != nil {
		return err
	}
	warnings := res.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusCreated, apicontainer.CreateResponse{ID: res.ID, Warnings: warnings})
	return nil
}

func (s *Server) getContainersJSON(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	limit, err := intValue(r, "limit", 0)
	if err != nil {
		return err
	}
	list, err := s.b.Containers.List(r.Context(), backend.ContainerListOptions{
		All: boolValue(r, "all"), Limit: limit, Size: boolValue(r, "size"), Filters: f,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getContainerJSON(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.b.Containers.Inspect(r.Context(), r.PathValue("id"), boolValue(r, "size"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, legacyNetworkSettings(r.Context(), resp))
	return nil
}

func (s *Server) postContainerStart(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Start(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func stopOptions(r *http.Request) (backend.StopOptions, error) {
	opts := backend.StopOptions{Signal: r.URL.Query().Get("signal")}
	if v := r.URL.Query().Get("t"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return opts, errdefs.InvalidParameterf("invalid value for t: %q", v)
		}
		opts.Timeout = &n
	}
	return opts, nil
}

func (s *Server) postContainerStop(w http.ResponseWriter, r *http.Request) error {
	opts, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.Stop(r.Context(), r.PathValue("id"), opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerRestart(w http.ResponseWriter, r *http.Request) error {
	opts, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.Restart(r.Context(), r.PathValue("id"), opts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerKill(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Kill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// postContainerWait commits the 200 and flushes as soon as the wait is
// registered: the Docker CLI waits for these headers before it starts the
// container, and the result follows in the body when the wait ends.
func (s *Server) postContainerWait(w http.ResponseWriter, r *http.Request) error {
	cond := apicontainer.WaitCondition(r.URL.Query().Get("condition"))
	committed := false
	ready := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		committed = true
	}
	code, msg, err := s.b.Containers.Wait(r.Context(), r.PathValue("id"), cond, ready)
	if err != nil {
		if !committed {
			return err
		}
		// Headers are gone; report in the body as Docker does.
		msg = err.Error()
	}
	resp := apicontainer.WaitResponse{StatusCode: int64(code)}
	if msg != "" {
		resp.Error = &apicontainer.WaitExitError{Message: msg}
	}
	return json.NewEncoder(w).Encode(resp)
}

func (s *Server) deleteContainer(w http.ResponseWriter, r *http.Request) error {
	err := s.b.Containers.Remove(r.Context(), r.PathValue("id"), backend.RemoveOptions{
		Force: boolValue(r, "force"), RemoveVolumes: boolValue(r, "v"), RemoveLink: boolValue(r, "link"),
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseSinceUntil accepts Docker's timestamp or duration forms on logs.
func parseLogTime(v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	return parseTime(v)
}

func (s *Server) getContainerLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := parseLogTime(q.Get("since"))
	if err != nil {
		return err
	}
	until, err := parseLogTime(q.Get("until"))
	if err != nil {
		return err
	}
	tail := -1
	if v := q.Get("tail"); v != "" && v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			tail = -1
		} else {
			tail = n
		}
	}
	timestamps := boolValue(r, "timestamps")
	opts := backend.LogsOptions{Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Follow: boolValue(r, "follow"), Since: since, Until: until, Tail: tail}
	flusher, _ := w.(http.Flusher)
	var fw *frameWriter
	ready := func(tty bool) error {
		w.Header().Set("Content-Type", streamContentType(tty))
		w.WriteHeader(http.StatusOK)
		fw = &frameWriter{w: w, raw: tty}
		if flusher != nil {
			flusher.Flush()
			if opts.Follow {
				fw.flush = func() error { flusher.Flush(); return nil }
			}
		}
		return nil
	}
	err = s.b.Containers.Logs(r.Context(), r.PathValue("id"), opts, ready, func(stream string, line []byte, t time.Time) error {
		if timestamps {
			line = append([]byte(t.UTC().Format(time.RFC3339Nano)+" "), line...)
		}
		return fw.write(stream, line)
	})
	if err != nil && fw == nil {
		return err
	}
	return nil
}

func (s *Server) postContainerAttach(w http.ResponseWriter, r *http.Request) error {
	opts := backend.AttachOptions{Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Stream: boolValue(r, "stream"), Logs: boolValue(r, "logs")}
	var conn *hijacked
	var fw *frameWriter
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ready := func(tty bool) error {
		var err error
		conn, err = hijack(w, r, streamContentType(tty))
		if err != nil {
			return err
		}
		fw = &frameWriter{w: conn.buf, raw: tty, flush: conn.buf.Flush}
		// A hijacked request's context outlives the client; a reset
		// connection is how we learn it left. EOF is only a half-close
		// (no stdin), so it does not end the attach.
		go func() {
			_, err := io.Copy(io.Discard, conn.conn)
			if err != nil {
				cancel()
			}
		}()
		return nil
	}
	err := s.b.Containers.Attach(ctx, r.PathValue("id"), opts, ready, func(stream string, line []byte, _ time.Time) error {
		return fw.write(stream, line)
	})
	if conn == nil {
		return err
	}
	conn.buf.Flush()
	conn.closeWrite()
	conn.conn.Close()
	return nil
}

func (s *Server) postContainerRename(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Rename(r.Context(), r.PathValue("id"), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
