package client

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestQueryOperation(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		status     int
		wantErr    bool
		wantStatus api.StatusCode
	}{
		{
			name:       "async",
			status:     http.StatusAccepted,
			body:       `{"type":"async","status":"Operation created","status_code":100,"operation":"/1.0/operations/x","metadata":{"id":"x","class":"task","status":"Success","status_code":200}}`,
			wantStatus: api.Success,
		},
		{
			name:    "sync",
			status:  http.StatusOK,
			body:    `{"type":"sync","status":"Success","status_code":200,"metadata":{}}`,
			wantErr: true,
		},
		{
			name:    "error",
			status:  http.StatusBadRequest,
			body:    `{"type":"error","error_code":400,"error":"invalid request"}`,
			wantErr: true,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := &ProtocolLXD{httpBaseURL: mustParseURL(t, srv.URL), httpClient: srv.Client()}
			op, _, err := c.queryOperation(http.MethodPost, "/images", map[string]any{}, "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %v, want error %v", err, tt.wantErr)
			}

			if err != nil {
				return
			}

			if op.Get().StatusCode != tt.wantStatus {
				t.Fatalf("got status %d, want %d", op.Get().StatusCode, tt.wantStatus)
			}

			// An operation already final needs no listener to be waited for.
			err = op.Wait()
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}

	return u
}
