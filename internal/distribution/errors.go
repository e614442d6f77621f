package distribution

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"berth/internal/errdefs"
)

// registryCause words the registry's first error as Docker's errcode does:
// "<code in lower case, spaces for underscores>: <message>".
func registryCause(te *transport.Error) string {
	if len(te.Errors) > 0 {
		d := te.Errors[0]
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message == "" {
			return code
		}
		return code + ": " + d.Message
	}
	switch te.StatusCode {
	case http.StatusUnauthorized:
		return "unauthorized: authentication required"
	case http.StatusForbidden:
		return "denied: requested access to the resource is denied"
	case http.StatusNotFound:
		return "manifest unknown: manifest unknown"
	}
	return fmt.Sprintf("unexpected status %d %s", te.StatusCode, http.StatusText(te.StatusCode))
}

func firstCode(te *transport.Error) transport.ErrorCode {
	if len(te.Errors) > 0 {
		return te.Errors[0].Code
	}
	switch te.StatusCode {
	case http.StatusUnauthorized:
		return transport.UnauthorizedErrorCode
	case http.StatusForbidden:
		return transport.DeniedErrorCode
	case http.StatusNotFound:
		return transport.ManifestUnknownErrorCode
	}
	return ""
}

// pullError words a failure to resolve ref's manifest as Docker does.
func pullError(ref reference.Named, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return classifyNet(err)
	}
	cause := registryCause(te)
	switch firstCode(te) {
	case transport.DeniedErrorCode, transport.UnauthorizedErrorCode:
		return errdefs.NotFoundf("pull access denied for %s, repository does not exist or may require 'docker login': %s", reference.FamiliarName(ref), cause)
	case transport.ManifestUnknownErrorCode:
		return errdefs.NotFoundf("manifest for %s not found: %s", reference.FamiliarString(ref), cause)
	case transport.NameUnknownErrorCode:
		return errdefs.NotFoundf("repository %s not found: %s", reference.FamiliarName(ref), cause)
	case transport.TooManyRequestsErrorCode:
		return errdefs.Unavailable(errors.New(cause))
	}
	return errdefs.System(err)
}

// pushError words a failed push step.
func pushError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return classifyNet(err)
	}
	switch firstCode(te) {
	case transport.DeniedErrorCode:
		return errdefs.Forbidden(errors.New(registryCause(te)))
	case transport.UnauthorizedErrorCode:
		return errdefs.Unauthorized(errors.New(registryCause(te)))
	}
	return errdefs.System(errors.New(registryCause(te)))
}

// classifyNet classifies transport failures other than registry answers.
func classifyNet(err error) error {
	if errdefs.ClassOf(err) != errdefs.ClassUnknown {
		return err
	}
	if isNetErr(err) {
		return errdefs.Unavailable(err)
	}
	return errdefs.System(err)
}
