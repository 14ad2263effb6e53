package api

import (
	"net/http"
	"testing"
)

// TestStatusText checks the status texts kept in this package against net/http's.
func TestStatusText(t *testing.T) {
	for code := 100; code < 600; code++ {
		want := http.StatusText(code)
		got := NewStatusError(code, "").Error()
		if got != want {
			t.Errorf("status %d: got %q, want %q", code, got, want)
		}
	}
}
