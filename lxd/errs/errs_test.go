package errs

import (
	"errors"
	"io/fs"
	"testing"
)

func TestClassedKeepsMessageAndClass(t *testing.T) {
	tests := []struct {
		err   error
		class error
		msg   string
	}{
		{NotFound("instance %q not found", "c1"), ErrNotFound, `instance "c1" not found`},
		{Conflict("x"), ErrConflict, "x"},
		{Invalid("bad %d", 1), ErrInvalid, "bad 1"},
		{Busy("b"), ErrBusy, "b"},
		{Forbidden("f"), ErrForbidden, "f"},
		{Unsupported("u"), ErrUnsupported, "u"},
	}

	for _, tt := range tests {
		if tt.err.Error() != tt.msg {
			t.Errorf("got %q, want %q", tt.err.Error(), tt.msg)
		}

		if !errors.Is(tt.err, tt.class) {
			t.Errorf("%q: not of class %v", tt.msg, tt.class)
		}

		if errors.Is(tt.err, ErrConflict) && tt.class != ErrConflict {
			t.Errorf("%q: wrongly of class %v", tt.msg, ErrConflict)
		}
	}
}

func TestClassedKeepsCause(t *testing.T) {
	err := Invalid("reading: %w", fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v lost its cause or class", err)
	}
}
