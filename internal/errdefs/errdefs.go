package errdefs

import (
	"errors"
	"fmt"
)

// Class is the kind of an error as the API reports it.
type Class int

const (
	ClassUnknown Class = iota
	ClassNotFound
	ClassConflict
	ClassInvalidParameter
	ClassUnauthorized
	ClassForbidden
	ClassNotModified
	ClassUnavailable
	ClassNotImplemented
	ClassSystem
)

// classed carries a class on top of a cause; Unwrap keeps errors.Is/As working.
type classed struct {
	class Class
	err   error
}

func (e *classed) Error() string { return e.err.Error() }
func (e *classed) Unwrap() error { return e.err }

func wrap(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &classed{class: c, err: err}
}

func NotFound(err error) error         { return wrap(ClassNotFound, err) }
func Conflict(err error) error         { return wrap(ClassConflict, err) }
func InvalidParameter(err error) error { return wrap(ClassInvalidParameter, err) }
func Unauthorized(err error) error     { return wrap(ClassUnauthorized, err) }
func Forbidden(err error) error        { return wrap(ClassForbidden, err) }
func NotModified(err error) error      { return wrap(ClassNotModified, err) }
func Unavailable(err error) error      { return wrap(ClassUnavailable, err) }
func NotImplemented(err error) error   { return wrap(ClassNotImplemented, err) }
func System(err error) error           { return wrap(ClassSystem, err) }

// Formatted constructors, for the common case of a new message.
func NotFoundf(format string, a ...any) error { return NotFound(fmt.Errorf(format, a...)) }
func Conflictf(format string, a ...any) error { return Conflict(fmt.Errorf(format, a...)) }
func InvalidParameterf(format string, a ...any) error {
	return InvalidParameter(fmt.Errorf(format, a...))
}
func Systemf(format string, a ...any) error { return System(fmt.Errorf(format, a...)) }

// ClassOf returns the outermost class found in err's chain.
func ClassOf(err error) Class {
	var c *classed
	if errors.As(err, &c) {
		return c.class
	}
	return ClassUnknown
}

func IsNotFound(err error) bool         { return ClassOf(err) == ClassNotFound }
func IsConflict(err error) bool         { return ClassOf(err) == ClassConflict }
func IsInvalidParameter(err error) bool { return ClassOf(err) == ClassInvalidParameter }
func IsNotModified(err error) bool      { return ClassOf(err) == ClassNotModified }
