package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/operations/clock"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// opsServer serves the API over a test server; callers with the header "X-Test-Untrusted" are untrusted.
func opsServer(t *testing.T) (*state.State, *httptest.Server) {
	t.Helper()
	return opsServerWith(t, operations.RegistryArgs{})
}

// opsServerClock is opsServer with the operations on a fake clock, which the test moves.
func opsServerClock(t *testing.T) (*state.State, *httptest.Server, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s, srv := opsServerWith(t, operations.RegistryArgs{Clock: fake})
	return s, srv, fake
}

// opsServerWith is opsServer with a registry made from args (whose Events it sets).
func opsServerWith(t *testing.T, args operations.RegistryArgs) (*state.State, *httptest.Server) {
	t.Helper()
	ev := events.NewServer()
	args.Events = ev
	s := &state.State{ShutdownCtx: context.Background(), Ops: operations.NewRegistryWithArgs(args), Events: ev}
	apiServer := &Server{
		State: s,
		Authenticate: func(r *http.Request) *request.Requestor {
			if r.Header.Get("X-Test-Untrusted") != "" {
				return &request.Requestor{Protocol: "tls", Address: r.RemoteAddr}
			}

			return &request.Requestor{Trusted: true, Protocol: "unix", Address: "@"}
		},
	}

	srv := httptest.NewServer(apiServer.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Ops.Shutdown(ctx)
		ev.Close(time.Second)
	})

	return s, srv
}

// call sends a request and decodes the envelope.
func call(t *testing.T, srv *httptest.Server, method string, path string, untrusted bool) (int, api.ResponseRaw) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}

	if untrusted {
		req.Header.Set("X-Test-Untrusted", "1")
	}

	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = resp.Body.Close() }()
	var env api.ResponseRaw
	err = json.NewDecoder(resp.Body).Decode(&env)
	if err != nil {
		t.Fatalf("%s %s: body is not a JSON envelope: %v", method, path, err)
	}

	return resp.StatusCode, env
}

func startOp(t *testing.T, s *state.State, args operations.Args) *operations.Operation {
	t.Helper()
	op, err := s.Ops.Create(args)
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	return op
}

func TestOperationsList(t *testing.T) {
	s, srv := opsServer(t)
	token := startOp(t, s, operations.Args{Class: api.OperationClassToken})
	done := startOp(t, s, operations.Args{Class: api.OperationClassToken})
	err := done.Done(nil)
	if err != nil {
		t.Fatal(err)
	}

	code, env := call(t, srv, http.MethodGet, "/1.0/operations", false)
	var urls map[string][]string
	_ = env.MetadataAsStruct(&urls)
	if code != http.StatusOK || len(urls) != 2 || urls["running"][0] != token.URL() || urls["success"][0] != done.URL() {
		t.Fatalf("got %d %v, want running and success lists", code, urls)
	}

	code, env = call(t, srv, http.MethodGet, "/1.0/operations?recursion=1", false)
	var full map[string][]api.Operation
	_ = env.MetadataAsStruct(&full)
	if code != http.StatusOK || full["running"][0].ID != token.ID() || full["running"][0].Location != "none" {
		t.Fatalf("got %d %+v, want full objects", code, full)
	}

	code, env = call(t, srv, http.MethodGet, "/1.0/operations?project=p1", false)
	if code != http.StatusOK || string(env.Metadata) != "{}" {
		t.Fatalf("got %d %s for another project, want an empty map", code, env.Metadata)
	}

	code, _ = call(t, srv, http.MethodGet, "/1.0/operations", true)
	if code != http.StatusForbidden {
		t.Fatalf("untrusted list: got %d, want 403", code)
	}
}

func TestOperationGetDelete(t *testing.T) {
	s, srv := opsServer(t)
	token := startOp(t, s, operations.Args{Class: api.OperationClassToken, Metadata: map[string]any{"secret": "x"}})

	tests := []struct {
		name      string
		method    string
		path      string
		untrusted bool
		code      int
		errText   string
	}{
		{"get", http.MethodGet, token.URL(), false, http.StatusOK, ""},
		{"get untrusted", http.MethodGet, token.URL(), true, http.StatusForbidden, "not authorized"},
		{"get unknown", http.MethodGet, "/1.0/operations/nope", false, http.StatusNotFound, `operation "nope": not found`},
		{"delete untrusted", http.MethodDelete, token.URL(), true, http.StatusForbidden, "not authorized"},
		{"delete", http.MethodDelete, token.URL(), false, http.StatusOK, ""},
		{"delete again", http.MethodDelete, token.URL(), false, http.StatusBadRequest,
			"only running operations can be cancelled"},
		{"delete unknown", http.MethodDelete, "/1.0/operations/nope", false, http.StatusNotFound, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, env := call(t, srv, tt.method, tt.path, tt.untrusted)
			if code != tt.code || (tt.errText != "" && env.Error != tt.errText) {
				t.Fatalf("got %d %q, want %d %q", code, env.Error, tt.code, tt.errText)
			}

			if tt.name == "delete" && string(env.Metadata) != "{}" {
				t.Fatalf("got metadata %s, want {}", env.Metadata)
			}
		})
	}

	if token.Status() != api.Cancelled {
		t.Fatalf("got status %d after DELETE, want Cancelled", token.Status())
	}
}

// waitCall is an asynchronous call: its status and envelope arrive on the channel.
type waitCall struct {
	code int
	env  api.ResponseRaw
}

// callAsync sends a request in a goroutine. The call must not fail the test from there: failures are reported as
// code 0 and checked by receiveCall.
func callAsync(t *testing.T, srv *httptest.Server, method string, path string, untrusted bool) <-chan waitCall {
	t.Helper()
	ch := make(chan waitCall, 1)
	go func() {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			ch <- waitCall{}
			return
		}

		if untrusted {
			req.Header.Set("X-Test-Untrusted", "1")
		}

		resp, err := srv.Client().Do(req)
		if err != nil {
			ch <- waitCall{}
			return
		}

		defer func() { _ = resp.Body.Close() }()
		var env api.ResponseRaw
		err = json.NewDecoder(resp.Body).Decode(&env)
		if err != nil {
			ch <- waitCall{}
			return
		}

		ch <- waitCall{code: resp.StatusCode, env: env}
	}()

	return ch
}

// receiveCall returns the answer of callAsync, failing when it does not come or the call failed.
func receiveCall(t *testing.T, ch <-chan waitCall) (int, api.Operation) {
	t.Helper()
	select {
	case c := <-ch:
		if c.code == 0 {
			t.Fatal("the request failed")
		}

		var op api.Operation
		_ = c.env.MetadataAsStruct(&op)
		return c.code, op
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not return")
	}

	return 0, api.Operation{}
}

// fakeTimers waits until the fake clock has at least n pending timers: a wait request has started waiting.
func fakeTimers(t *testing.T, fake *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := fake.WaitForTimers(ctx, n)
	if err != nil {
		t.Fatalf("got %d timers, want %d: %v", fake.Timers(), n, err)
	}
}

func TestOperationWait(t *testing.T) {
	s, srv, fake := opsServerClock(t)
	release := make(chan struct{})
	task := startOp(t, s, operations.Args{
		Class:    api.OperationClassTask,
		Metadata: map[string]any{"secret": "s2"},
		Run: func(ctx context.Context, op *operations.Operation) error {
			<-release
			return nil
		},
	})

	tests := []struct {
		name       string
		query      string
		untrusted  bool
		code       int
		wantStatus api.StatusCode
		errText    string
	}{
		{"timeout returns current state", "?timeout=0", false, http.StatusOK, api.Running, ""},
		{"untrusted without secret", "?timeout=0", true, http.StatusForbidden, 0, ""},
		{"untrusted wrong secret", "?timeout=0&secret=nope", true, http.StatusForbidden, 0, ""},
		{"untrusted with secret", "?timeout=0&secret=s2", true, http.StatusOK, api.Running, ""},
		{"invalid timeout", "?timeout=x", false, http.StatusBadRequest, 0, ""},
		{"fractional timeout", "?timeout=1.5", false, http.StatusBadRequest, 0, ""},
		{"negative timeout other than -1", "?timeout=-2", false, http.StatusBadRequest, 0,
			"invalid timeout -2: use -1 to wait without limit, or 0 or more seconds"},
		{"large negative timeout", "?timeout=-3600", false, http.StatusBadRequest, 0,
			"invalid timeout -3600: use -1 to wait without limit, or 0 or more seconds"},
		{"negative timeout with secret", "?timeout=-2&secret=s2", true, http.StatusBadRequest, 0, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, env := call(t, srv, http.MethodGet, task.URL()+"/wait"+tt.query, tt.untrusted)
			var op api.Operation
			_ = env.MetadataAsStruct(&op)
			if code != tt.code || (tt.wantStatus != 0 && op.StatusCode != tt.wantStatus) {
				t.Fatalf("got %d %d %q, want %d %d", code, op.StatusCode, env.Error, tt.code, tt.wantStatus)
			}

			if code >= 400 && (env.Type != api.ErrorResponse || env.Code != code) {
				t.Fatalf("got envelope %+v, want an error envelope with code %d", env, code)
			}

			if tt.errText != "" && env.Error != tt.errText {
				t.Fatalf("got error %q, want %q", env.Error, tt.errText)
			}
		})
	}

	if fake.Timers() != 0 {
		t.Fatalf("got %d timers after waits that returned at once, want none", fake.Timers())
	}

	// A positive timeout returns the operation as it is once the clock reaches it, and not a moment before.
	ch := callAsync(t, srv, http.MethodGet, task.URL()+"/wait?timeout=30", false)
	fakeTimers(t, fake, 1)
	fake.Advance(30*time.Second - time.Nanosecond)
	if fake.Timers() != 1 {
		t.Fatal("the wait ended before its timeout")
	}

	fake.Advance(time.Nanosecond)
	code, op := receiveCall(t, ch)
	if code != http.StatusOK || op.StatusCode != api.Running {
		t.Fatalf("got %d %d after the timeout, want 200 with Running", code, op.StatusCode)
	}

	// A positive timeout and -1 (the default) both return as soon as the operation is final. The positive wait
	// shows, by its timer, that the requests are waiting before the task ends; the -1 ones register no timer.
	long := callAsync(t, srv, http.MethodGet, task.URL()+"/wait?timeout=3600", false)
	forever := callAsync(t, srv, http.MethodGet, task.URL()+"/wait?timeout=-1&secret=s2&project=default", true)
	dflt := callAsync(t, srv, http.MethodGet, task.URL()+"/wait", false)
	fakeTimers(t, fake, 1)
	fake.Advance(time.Hour - time.Nanosecond)
	close(release)
	for _, ch := range []<-chan waitCall{long, forever, dflt} {
		code, op := receiveCall(t, ch)
		if code != http.StatusOK || op.StatusCode != api.Success {
			t.Fatalf("got %d %d, want 200 with Success", code, op.StatusCode)
		}
	}

	// The finished operation is kept for the retention time, then the wait answers 404.
	code, op = receiveCall(t, callAsync(t, srv, http.MethodGet, task.URL()+"/wait?timeout=0", false))
	if code != http.StatusOK || op.StatusCode != api.Success {
		t.Fatalf("got %d %d during the retention, want 200 with Success", code, op.StatusCode)
	}

	fake.Advance(operations.DefaultRetention)
	code, _ = call(t, srv, http.MethodGet, task.URL()+"/wait", false)
	if code != http.StatusNotFound {
		t.Fatalf("got %d after the retention, want 404", code)
	}
}

func TestWaitTimeoutParsing(t *testing.T) {
	tests := []struct {
		query string
		want  time.Duration
		code  int
	}{
		{"", -1, 0},
		{"?timeout=-1", -1, 0},
		{"?timeout=0", 0, 0},
		{"?timeout=5", 5 * time.Second, 0},
		{"?timeout=9223372036854775807", -1, 0},
		{"?timeout=-2", 0, http.StatusBadRequest},
		{"?timeout=-9223372036854775808", 0, http.StatusBadRequest},
		{"?timeout=abc", 0, http.StatusBadRequest},
	}

	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := waitTimeout(httptest.NewRequest(http.MethodGet, "/1.0/operations/x/wait"+tt.query, nil))
			if tt.code != 0 {
				if !api.StatusErrorCheck(err, tt.code) {
					t.Fatalf("got %v, want status %d", err, tt.code)
				}

				return
			}

			if err != nil || got != tt.want {
				t.Fatalf("got %v %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestOperationWebsocket(t *testing.T) {
	s, srv := opsServer(t)
	token := startOp(t, s, operations.Args{Class: api.OperationClassToken, Metadata: map[string]any{"secret": "t"}})
	ws := startOp(t, s, operations.Args{
		Class:    api.OperationClassWebsocket,
		Metadata: map[string]any{"fds": map[string]string{"0": "fd0"}},
		OnConnect: func(op *operations.Operation, r *http.Request, w http.ResponseWriter) error {
			if !op.MatchSecret(r.FormValue("secret")) {
				http.Error(w, "bad secret", http.StatusForbidden)
				return nil
			}

			up := websocket.Upgrader{}
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return err
			}

			defer func() { _ = conn.Close() }()
			return conn.WriteMessage(websocket.BinaryMessage, []byte("hi"))
		},
	})

	tests := []struct {
		name      string
		path      string
		untrusted bool
		code      int
	}{
		{"untrusted without secret", ws.URL() + "/websocket", true, http.StatusForbidden},
		{"untrusted wrong secret", ws.URL() + "/websocket?secret=bad", true, http.StatusForbidden},
		{"not a websocket operation", token.URL() + "/websocket?secret=t", false, http.StatusBadRequest},
		{"unknown operation", "/1.0/operations/nope/websocket?secret=x", true, http.StatusNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := call(t, srv, http.MethodGet, tt.path, tt.untrusted)
			if code != tt.code {
				t.Fatalf("got %d, want %d", code, tt.code)
			}
		})
	}

	header := http.Header{"X-Test-Untrusted": {"1"}}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + ws.URL() + "/websocket?secret=fd0"
	conn, _, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("untrusted websocket with a valid secret: %v", err)
	}

	defer func() { _ = conn.Close() }()
	_, data, err := conn.ReadMessage()
	if err != nil || string(data) != "hi" {
		t.Fatalf("got %q %v, want the operation's data", data, err)
	}
}

func TestEventsEndpoint(t *testing.T) {
	s, srv := opsServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/1.0/events"

	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"X-Test-Untrusted": {"1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("untrusted events: got %v %v, want a refused handshake with 403", err, resp)
	}

	var env api.ResponseRaw
	err = json.NewDecoder(resp.Body).Decode(&env)
	if err != nil || env.Type != api.ErrorResponse || env.Code != http.StatusForbidden {
		t.Fatalf("got %+v %v, want a JSON 403 envelope", env, err)
	}

	conn, _, err := websocket.DefaultDialer.Dial(url+"?type=operation&project=default", nil)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = conn.Close() }()
	waitFor(t, "the events listener", func() bool { return s.Events.ListenerCount() > 0 })

	op := startOp(t, s, operations.Args{Class: api.OperationClassToken})
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for _, want := range []api.StatusCode{api.Pending, api.Running} {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}

		var ev api.Event
		err = json.Unmarshal(data, &ev)
		if err != nil {
			t.Fatal(err)
		}

		var got api.Operation
		_ = json.Unmarshal(ev.Metadata, &got)
		if ev.Type != api.EventTypeOperation || got.ID != op.ID() || got.StatusCode != want {
			t.Fatalf("got %s event for %s status %d, want operation %s status %d", ev.Type, got.ID,
				got.StatusCode, op.ID(), want)
		}
	}
}
