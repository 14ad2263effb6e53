package images

import (
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
)

// InvalidError reports why an image was refused. It wraps errs.ErrInvalid, so the REST layer answers 400.
type InvalidError struct {
	// Part is the image part the problem was found in: "image" (unified), "metadata" or "rootfs".
	Part string

	// Entry is the archive entry at fault, if any.
	Entry string

	// Reason says what is wrong, in lowercase.
	Reason string

	// Err is the underlying cause, if any (a decompression or YAML error).
	Err error
}

// Error returns the message the API client sees.
func (e *InvalidError) Error() string {
	msg := "invalid image"
	if e.Part != "" && e.Part != partImage {
		msg += " " + e.Part
	}

	if e.Entry != "" {
		msg += fmt.Sprintf(": entry %q", e.Entry)
	}

	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}

	return msg
}

// Unwrap lets errors.Is match errs.ErrInvalid and the underlying cause.
func (e *InvalidError) Unwrap() []error {
	if e.Err != nil {
		return []error{errs.ErrInvalid, e.Err}
	}

	return []error{errs.ErrInvalid}
}

// Names of the parts of an image, used in errors.
const (
	partImage    = "image"
	partMetadata = "metadata"
	partRootfs   = "rootfs"
)

func invalidEntry(part string, entry string, format string, args ...any) error {
	return &InvalidError{Part: part, Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

func invalidf(part string, format string, args ...any) error {
	return &InvalidError{Part: part, Reason: fmt.Sprintf(format, args...)}
}
