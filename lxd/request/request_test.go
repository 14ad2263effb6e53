package request

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"valid", `{"a":"b"}`, 0},
		{"empty", ``, http.StatusBadRequest},
		{"malformed", `{"a":`, http.StatusBadRequest},
		{"trailing", `{"a":"b"} {}`, http.StatusBadRequest},
		{"wrong type", `{"a":1}`, http.StatusBadRequest},
		{"too large", `{"a":"` + strings.Repeat("x", MaxJSONBody) + `"}`, http.StatusRequestEntityTooLarge},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/1.0", strings.NewReader(tt.body))
			var target struct {
				A string `json:"a"`
			}

			err := DecodeJSON(r, &target)
			if tt.status == 0 {
				if err != nil || target.A != "b" {
					t.Fatalf("got %v, %q; want no error and \"b\"", err, target.A)
				}

				return
			}

			if !api.StatusErrorCheck(err, tt.status) {
				t.Fatalf("got %v, want a %d error", err, tt.status)
			}
		})
	}
}
