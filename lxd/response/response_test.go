package response

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

func TestSmartError(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{api.StatusErrorf(http.StatusTeapot, "short and stout"), http.StatusTeapot},
		{fmt.Errorf("loading image: %w", errs.ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("open: %w", fs.ErrNotExist), http.StatusNotFound},
		{fmt.Errorf("alias: %w", errs.ErrConflict), http.StatusConflict},
		{fmt.Errorf("key: %w", errs.ErrInvalid), http.StatusBadRequest},
		{fmt.Errorf("db: %w", errs.ErrBusy), http.StatusServiceUnavailable},
		{errors.New("boom"), http.StatusInternalServerError},
	}

	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := SmartError(tt.err).Render(rec, httptest.NewRequest(http.MethodGet, "/1.0", nil))
			if err != nil {
				t.Fatal(err)
			}

			if rec.Code != tt.want {
				t.Fatalf("got HTTP %d, want %d", rec.Code, tt.want)
			}

			var raw api.ResponseRaw
			err = json.Unmarshal(rec.Body.Bytes(), &raw)
			if err != nil {
				t.Fatal(err)
			}

			if raw.Type != api.ErrorResponse || raw.Code != tt.want || raw.Error != tt.err.Error() {
				t.Fatalf("got envelope %+v, want error %d %q", raw, tt.want, tt.err.Error())
			}
		})
	}
}

func TestSyncAndAsyncEnvelopes(t *testing.T) {
	rec := httptest.NewRecorder()
	_ = SyncResponseETag(map[string]string{"a": "b"}, []any{true}).Render(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Header().Get("ETag") == "" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("sync: got %d, headers %v", rec.Code, rec.Header())
	}

	want := `{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":{"a":"b"}}` + "\n"
	if rec.Body.String() != want {
		t.Fatalf("sync body: got %s, want %s", rec.Body.String(), want)
	}

	rec = httptest.NewRecorder()
	_ = AsyncResponse("/1.0/operations/x", map[string]string{"id": "x"}).Render(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusAccepted || rec.Header().Get("Location") != "/1.0/operations/x" {
		t.Fatalf("async: got %d, headers %v", rec.Code, rec.Header())
	}

	var raw api.ResponseRaw
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	if raw.Type != api.AsyncResponse || raw.StatusCode != 100 || raw.Operation != "/1.0/operations/x" {
		t.Fatalf("async envelope: got %+v", raw)
	}
}
