package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"berth/internal/errdefs"
)

// statusOf is the one place an error becomes an HTTP status.
func statusOf(err error) int {
	switch errdefs.ClassOf(err) {
	case errdefs.ClassNotFound:
		return http.StatusNotFound
	case errdefs.ClassConflict:
		return http.StatusConflict
	case errdefs.ClassInvalidParameter:
		return http.StatusBadRequest
	case errdefs.ClassUnauthorized:
		return http.StatusUnauthorized
	case errdefs.ClassForbidden:
		return http.StatusForbidden
	case errdefs.ClassNotModified:
		return http.StatusNotModified
	case errdefs.ClassUnavailable:
		return http.StatusServiceUnavailable
	case errdefs.ClassNotImplemented:
		return http.StatusNotImplemented
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeError answers with Docker's error body, {"message": "..."}.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code == http.StatusInternalServerError {
		slog.Default().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
