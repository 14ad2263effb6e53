package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestConditionalUpdatesDoNotLoseEachOther sends concurrent PATCHes made from the same ETag, each adding its own
// key: exactly one may succeed, and its key is then the only one there.
func TestConditionalUpdatesDoNotLoseEachOther(t *testing.T) {
	env := newFuzzEnv(t)
	code, _ := env.send(t, "POST", "/1.0/profiles", "application/json", []byte(`{"name": "p1"}`))
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("got %d creating the profile", code)
	}

	tests := []struct {
		path  string
		body  string
		field string
	}{
		{"/1.0/profiles/p1", `{"config": {"user.k%d": "v"}}`, "config"},
		{"/1.0/instances/c1", `{"config": {"user.k%d": "v"}}`, "config"},
		{"/1.0/images/" + env.fp, `{"properties": {"k%d": "v"}}`, "properties"},
	}

	for _, tt := range tests {
		get := httptest.NewRecorder()
		env.handler.ServeHTTP(get, httptest.NewRequest("GET", tt.path, nil))
		etag := get.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", tt.path)
		}

		const writers = 12
		var wg sync.WaitGroup
		codes := make([]int, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest("PATCH", tt.path, strings.NewReader(fmt.Sprintf(tt.body, i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("If-Match", etag)
				rec := httptest.NewRecorder()
				env.handler.ServeHTTP(rec, req)
				codes[i] = rec.Code
			}()
		}

		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("%s: got status %d, want 200 or 412", tt.path, c)
			}
		}

		after := httptest.NewRecorder()
		env.handler.ServeHTTP(after, httptest.NewRequest("GET", tt.path, nil))
		var got struct {
			Metadata map[string]json.RawMessage `json:"metadata"`
		}

		err := json.Unmarshal(after.Body.Bytes(), &got)
		if err != nil {
			t.Fatal(err)
		}

		var fields map[string]string
		err = json.Unmarshal(got.Metadata[tt.field], &fields)
		if err != nil {
			t.Fatal(err)
		}

		keys := 0
		for _, v := range fields {
			if v == "v" {
				keys++
			}
		}

		if ok != 1 || keys != 1 {
			t.Fatalf("%s: %d updates accepted and %d keys kept, want 1 and 1: %v", tt.path, ok, keys, fields)
		}
	}
}
