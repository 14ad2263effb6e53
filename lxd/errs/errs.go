// Package errs holds the error classes domain code wraps, so one mapper can turn them into HTTP statuses.
package errs

import "errors"

// Error classes. Wrap them with fmt.Errorf("...: %w", errs.ErrNotFound).
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already exists")
	ErrInvalid   = errors.New("invalid")
	ErrBusy      = errors.New("busy")
	ErrForbidden = errors.New("not authorized")
)
