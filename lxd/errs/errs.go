// Package errs holds the error classes that domain packages return, so that one mapper (response.SmartError) turns
// them into HTTP statuses and no domain package needs to know about HTTP.
package errs

import (
	"errors"
	"fmt"
)

// Error classes. Wrap them with fmt.Errorf("...: %w", errs.ErrNotFound), or build an error of a class whose text
// is exactly the message with NotFound, Conflict, Invalid, Busy, Forbidden or Unsupported.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("already exists")
	ErrInvalid     = errors.New("invalid")
	ErrBusy        = errors.New("busy")
	ErrForbidden   = errors.New("not authorized")
	ErrUnsupported = errors.New("not supported")
)

// classed is an error of a class whose message is its own text (the class name is not appended).
type classed struct {
	class error
	err   error
}

func (e *classed) Error() string { return e.err.Error() }

// Unwrap returns the class and the formatted error, so errors.Is finds the class and any %w-wrapped cause.
func (e *classed) Unwrap() []error { return []error{e.class, e.err} }

func newf(class error, format string, args ...any) error {
	return &classed{class: class, err: fmt.Errorf(format, args...)}
}

// NotFound returns an error of class ErrNotFound with the formatted message.
func NotFound(format string, args ...any) error { return newf(ErrNotFound, format, args...) }

// Conflict returns an error of class ErrConflict with the formatted message.
func Conflict(format string, args ...any) error { return newf(ErrConflict, format, args...) }

// Invalid returns an error of class ErrInvalid with the formatted message.
func Invalid(format string, args ...any) error { return newf(ErrInvalid, format, args...) }

// Busy returns an error of class ErrBusy with the formatted message.
func Busy(format string, args ...any) error { return newf(ErrBusy, format, args...) }

// Forbidden returns an error of class ErrForbidden with the formatted message.
func Forbidden(format string, args ...any) error { return newf(ErrForbidden, format, args...) }

// Unsupported returns an error of class ErrUnsupported with the formatted message.
func Unsupported(format string, args ...any) error { return newf(ErrUnsupported, format, args...) }
