package operations

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/operations/clock"
	"github.com/lxd-go/lxd/shared/api"
)

// recorder collects the events a registry sends.
type recorder struct {
	l  *events.Listener
	ev *events.Server
}

// start is the fake clock's initial time in every test.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// eventWait bounds how long a test waits for something that must happen; generous, since -race on a busy
// machine is slow, and it only matters when the test is failing anyway.
const eventWait = 10 * time.Second

// newRegistry returns a registry on a fake clock, and a recorder of its operation and lifecycle events.
func newRegistry(t *testing.T) (*Registry, *recorder) {
	t.Helper()
	reg, rec, _ := newRegistryClock(t, RegistryArgs{})
	return reg, rec
}

// newRegistryClock is newRegistry with args (whose Events and Clock it sets) and the fake clock.
func newRegistryClock(t *testing.T, args RegistryArgs) (*Registry, *recorder, *clock.Fake) {
	t.Helper()
	ev := events.NewServer()
	l, err := ev.Subscribe(events.ListenerArgs{Types: []string{api.EventTypeOperation, api.EventTypeLifecycle}})
	if err != nil {
		t.Fatal(err)
	}

	fake := clock.NewFake(start)
	args.Events = ev
	args.Clock = fake
	reg := NewRegistryWithArgs(args)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), eventWait)
		defer cancel()
		_ = reg.Shutdown(ctx)
	})

	return reg, &recorder{l: l, ev: ev}, fake
}

// next returns the next event, failing when none comes.
func (r *recorder) next(t *testing.T) api.Event {
	t.Helper()
	select {
	case frame := <-r.l.Frames():
		var ev api.Event
		err := json.Unmarshal(frame, &ev)
		if err != nil {
			t.Fatal(err)
		}

		return ev
	case <-time.After(eventWait):
		t.Fatalf("no event within %v", eventWait)
	}

	return api.Event{}
}

// nextOp returns the operation carried by the next event, which must be an operation event.
func (r *recorder) nextOp(t *testing.T) api.Operation {
	t.Helper()
	ev := r.next(t)
	if ev.Type != api.EventTypeOperation {
		t.Fatalf("got %s event, want operation", ev.Type)
	}

	var op api.Operation
	err := json.Unmarshal(ev.Metadata, &op)
	if err != nil {
		t.Fatal(err)
	}

	return op
}

// none checks that no event was sent before now: it sends a marker event and wants it to be the next one (each
// listener receives events in the order they were sent). Callers first make sure that whatever they check has
// happened (an operation's status read takes its lock, so an event it was sending is out).
func (r *recorder) none(t *testing.T) {
	t.Helper()
	r.ev.SendLifecycle("default", api.EventLifecycle{Action: "test-marker"})
	ev := r.next(t)
	var lc api.EventLifecycle
	_ = json.Unmarshal(ev.Metadata, &lc)
	if ev.Type != api.EventTypeLifecycle || lc.Action != "test-marker" {
		t.Fatalf("got unexpected %s event %s before the marker", ev.Type, ev.Metadata)
	}
}

func waitFinal(t *testing.T, op *Operation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("operation did not finish: %v", err)
	}
}

func TestTaskStatusSequence(t *testing.T) {
	tests := []struct {
		name       string
		run        func(ctx context.Context, op *Operation) error
		wantStatus api.StatusCode
		wantErr    string
	}{
		{"success", func(ctx context.Context, op *Operation) error { return nil }, api.Success, ""},
		{"failure", func(ctx context.Context, op *Operation) error { return errors.New("disk is full") },
			api.Failure, "disk is full"},
		{"panic", func(ctx context.Context, op *Operation) error { panic("oops") }, api.Failure,
			"operation panicked: oops"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, rec := newRegistry(t)
			op, err := reg.Create(Args{
				Class:       api.OperationClassTask,
				Description: "Downloading image",
				Resources:   map[string][]string{"images": {"/1.0/images/abc"}},
				Run: func(ctx context.Context, op *Operation) error {
					err := op.UpdateMetadata(map[string]any{"download_progress": "50%"})
					if err != nil {
						return err
					}

					return tt.run(ctx, op)
				},
			})
			if err != nil {
				t.Fatal(err)
			}

			created := rec.nextOp(t)
			if created.StatusCode != api.Pending || created.Status != "Pending" || created.ID != op.ID() {
				t.Fatalf("first event: got %s (%d) for %s, want Pending for %s", created.Status, created.StatusCode,
					created.ID, op.ID())
			}

			err = op.Start()
			if err != nil {
				t.Fatal(err)
			}

			running := rec.nextOp(t)
			if running.StatusCode != api.Running || !running.MayCancel {
				t.Fatalf("second event: got %d may_cancel %v, want Running and cancellable", running.StatusCode,
					running.MayCancel)
			}

			progress := rec.nextOp(t)
			if progress.StatusCode != api.Running || progress.Metadata["download_progress"] != "50%" {
				t.Fatalf("third event: got %d %v, want Running with progress", progress.StatusCode, progress.Metadata)
			}

			final := rec.nextOp(t)
			if final.StatusCode != tt.wantStatus || final.Err != tt.wantErr || final.MayCancel {
				t.Fatalf("final event: got %d err %q may_cancel %v, want %d err %q not cancellable",
					final.StatusCode, final.Err, final.MayCancel, tt.wantStatus, tt.wantErr)
			}

			if final.Location != "none" || final.Class != "task" || final.Description != "Downloading image" ||
				final.Resources["images"][0] != "/1.0/images/abc" {
				t.Fatalf("final event: got %+v, want the full operation object", final)
			}

			waitFinal(t, op)
			rec.none(t)
			if op.Status() != tt.wantStatus {
				t.Fatalf("got status %d, want %d", op.Status(), tt.wantStatus)
			}

			err = op.UpdateMetadata(map[string]any{})
			if !errors.Is(err, errs.ErrConflict) {
				t.Fatalf("update after the end: got %v, want a conflict", err)
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name string
		args Args
	}{
		{"task without run", Args{Class: api.OperationClassTask}},
		{"websocket without connect", Args{Class: api.OperationClassWebsocket}},
		{"unknown class", Args{Class: "bogus", Run: func(context.Context, *Operation) error { return nil }}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := newRegistry(t)
			_, err := reg.Create(tt.args)
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an invalid argument error", err)
			}
		})
	}
}

func TestStartTwice(t *testing.T) {
	reg, _ := newRegistry(t)
	op, err := reg.Create(Args{Class: api.OperationClassToken})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second start: got %v, want a conflict", err)
	}
}

func TestCancelTask(t *testing.T) {
	reg, rec := newRegistry(t)
	cancelled := make(chan struct{})
	op, err := reg.Create(Args{
		Class: api.OperationClassTask,
		Run: func(ctx context.Context, op *Operation) error {
			<-ctx.Done()
			return ctx.Err()
		},
		OnCancel: func(op *Operation) error {
			close(cancelled)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	_ = rec.nextOp(t)
	_ = rec.nextOp(t)
	err = op.Cancel()
	if err != nil {
		t.Fatal(err)
	}

	<-cancelled
	waitFinal(t, op)
	wantStatus := []api.StatusCode{api.Cancelling, api.Cancelled}
	for _, want := range wantStatus {
		got := rec.nextOp(t)
		if got.StatusCode != want {
			t.Fatalf("got status %d, want %d", got.StatusCode, want)
		}

		if want == api.Cancelled && got.Err != "" {
			t.Fatalf("got err %q for a cancelled operation that returned its context error, want none", got.Err)
		}
	}

	lc := rec.next(t)
	var lifecycle api.EventLifecycle
	_ = json.Unmarshal(lc.Metadata, &lifecycle)
	if lc.Type != api.EventTypeLifecycle || lifecycle.Action != "operation-cancelled" || lifecycle.Source != op.URL() {
		t.Fatalf("got %s event %+v, want lifecycle operation-cancelled for %s", lc.Type, lifecycle, op.URL())
	}

	err = op.Cancel()
	if !api.StatusErrorCheck(err, http.StatusBadRequest) {
		t.Fatalf("cancel after the end: got %v, want a 400", err)
	}
}

func TestCancelRefused(t *testing.T) {
	reg, _ := newRegistry(t)

	// A failing OnCancel leaves the operation running.
	op, err := reg.Create(Args{
		Class:    api.OperationClassTask,
		Run:      func(ctx context.Context, op *Operation) error { <-ctx.Done(); return nil },
		OnCancel: func(op *Operation) error { return errors.New("busy writing") },
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	err = op.Cancel()
	if err == nil {
		t.Fatal("cancel succeeded although OnCancel failed")
	}

	if op.Status() != api.Running {
		t.Fatalf("got status %d after a refused cancel, want Running", op.Status())
	}

	// A websocket operation without OnCancel cannot be cancelled.
	ws, err := reg.Create(Args{
		Class:     api.OperationClassWebsocket,
		OnConnect: func(op *Operation, r *http.Request, w http.ResponseWriter) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}

	err = ws.Start()
	if err != nil {
		t.Fatal(err)
	}

	if ws.Render().MayCancel {
		t.Fatal("websocket operation without OnCancel reports may_cancel")
	}

	err = ws.Cancel()
	if !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("got %v, want ErrNotCancellable", err)
	}
}

func TestTokenLifecycle(t *testing.T) {
	reg, rec, fake := newRegistryClock(t, RegistryArgs{Retention: 100 * time.Millisecond})
	op, err := reg.Create(Args{
		Class:       api.OperationClassToken,
		Description: "Image download token",
		Metadata:    map[string]any{"secret": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	_ = rec.nextOp(t)
	running := rec.nextOp(t)
	if running.StatusCode != api.Running || !running.MayCancel || running.Metadata["secret"] != "s3cret" {
		t.Fatalf("got %+v, want a running cancellable token with its secret", running)
	}

	// The token stays running until consumed, however long that takes.
	fake.Advance(24 * time.Hour)
	if op.Status() != api.Running {
		t.Fatalf("got status %d a day later, want the token still running", op.Status())
	}

	rec.none(t)

	bySecret := func(secret string) func(*Operation) bool {
		return func(o *Operation) bool { return o.MatchSecret(secret) }
	}

	if reg.Find(bySecret("wrong")) != nil {
		t.Fatal("found a token with a wrong secret")
	}

	if reg.Find(bySecret("s3cret")) != op {
		t.Fatal("token not found by its secret")
	}

	err = op.Done(map[string]any{"secret": "s3cret", "fingerprint": "abc"})
	if err != nil {
		t.Fatal(err)
	}

	final := rec.nextOp(t)
	if final.StatusCode != api.Success || final.Metadata["fingerprint"] != "abc" {
		t.Fatalf("got %+v, want Success with the new metadata", final)
	}

	// Finished tokens stay findable for the retention time, then are dropped.
	fake.Advance(100*time.Millisecond - time.Nanosecond)
	if reg.Find(bySecret("s3cret")) != op {
		t.Fatal("finished token not found by its secret during retention")
	}

	_, err = reg.Get(op.ID())
	if err != nil {
		t.Fatalf("finished token not readable during retention: %v", err)
	}

	fake.Advance(time.Nanosecond)
	_, err = reg.Get(op.ID())
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v after retention, want not found", err)
	}

	if reg.Find(bySecret("s3cret")) != nil {
		t.Fatal("token still found after retention")
	}
}

func TestDefaultRetention(t *testing.T) {
	reg, _ := newRegistry(t)
	if reg.Retention != 5*time.Second {
		t.Fatalf("got retention %v, want 5s", reg.Retention)
	}

	if NewRegistry(nil).Retention != DefaultRetention {
		t.Fatalf("NewRegistry: got retention %v, want the default", NewRegistry(nil).Retention)
	}

	if _, ok := NewRegistry(nil).Clock().(clock.Real); !ok {
		t.Fatal("NewRegistry does not use the system clock")
	}
}

func TestCancelToken(t *testing.T) {
	reg, rec := newRegistry(t)
	op, err := reg.Create(Args{Class: api.OperationClassToken, Metadata: map[string]any{"secret": "x"}})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	_ = rec.nextOp(t)
	_ = rec.nextOp(t)
	err = op.Cancel()
	if err != nil {
		t.Fatal(err)
	}

	if op.Status() != api.Cancelled {
		t.Fatalf("got status %d, want Cancelled at once for a token", op.Status())
	}

	if rec.nextOp(t).StatusCode != api.Cancelling || rec.nextOp(t).StatusCode != api.Cancelled {
		t.Fatal("want Cancelling then Cancelled events")
	}

	if rec.next(t).Type != api.EventTypeLifecycle {
		t.Fatal("want a lifecycle event after the cancel")
	}
}

func TestMatchSecret(t *testing.T) {
	tests := []struct {
		name     string
		metadata map[string]any
		secret   string
		want     bool
	}{
		{"metadata secret", map[string]any{"secret": "abc"}, "abc", true},
		{"wrong secret", map[string]any{"secret": "abc"}, "abd", false},
		{"empty secret never matches", map[string]any{"secret": ""}, "", false},
		{"fds string map", map[string]any{"fds": map[string]string{"0": "f0", "control": "fc"}}, "fc", true},
		{"fds any map", map[string]any{"fds": map[string]any{"0": "f0"}}, "f0", true},
		{"fds miss", map[string]any{"fds": map[string]any{"0": "f0"}}, "f1", false},
		{"no metadata", nil, "abc", false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := newRegistry(t)
			op, err := reg.Create(Args{Class: api.OperationClassToken, Metadata: tt.metadata})
			if err != nil {
				t.Fatal(err)
			}

			if op.MatchSecret(tt.secret) != tt.want {
				t.Fatalf("got %v, want %v", !tt.want, tt.want)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	reg, _ := newRegistry(t)
	var ops []*Operation
	for i := 0; i < 3; i++ {
		op, err := reg.Create(Args{
			Class: api.OperationClassTask,
			Run: func(ctx context.Context, op *Operation) error {
				<-ctx.Done()
				return ctx.Err()
			},
		})
		if err != nil {
			t.Fatal(err)
		}

		err = op.Start()
		if err != nil {
			t.Fatal(err)
		}

		ops = append(ops, op)
	}

	token, err := reg.Create(Args{Class: api.OperationClassToken})
	if err != nil {
		t.Fatal(err)
	}

	err = token.Start()
	if err != nil {
		t.Fatal(err)
	}

	pending, err := reg.Create(Args{Class: api.OperationClassTask, Run: func(context.Context, *Operation) error {
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = reg.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for _, op := range append(ops, token, pending) {
		if op.Status() != api.Cancelled {
			t.Fatalf("operation %s: got status %d after shutdown, want Cancelled", op.ID(), op.Status())
		}
	}

	_, err = reg.Create(Args{Class: api.OperationClassToken})
	if !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("create after shutdown: got %v, want busy", err)
	}

	err = pending.Start()
	if err == nil {
		t.Fatal("start after shutdown succeeded")
	}
}

func TestShutdownBounded(t *testing.T) {
	reg, _ := newRegistry(t)
	release := make(chan struct{})
	defer close(release)
	op, err := reg.Create(Args{
		Class: api.OperationClassTask,
		Run: func(ctx context.Context, op *Operation) error {
			<-release
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = reg.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline error for a run that ignores its context", err)
	}

	if time.Since(start) > time.Second {
		t.Fatalf("shutdown took %v, want it bounded by its context", time.Since(start))
	}

	if op.Status() != api.Cancelling {
		t.Fatalf("got status %d, want Cancelling while the run goes on", op.Status())
	}
}

func TestResponse(t *testing.T) {
	reg, _ := newRegistry(t)
	op, err := reg.Create(Args{Class: api.OperationClassToken, Metadata: map[string]any{"secret": "abc"}})
	if err != nil {
		t.Fatal(err)
	}

	w := httptest.NewRecorder()
	err = Response(op).Render(w, httptest.NewRequest(http.MethodPost, "/1.0/images/x/secret", nil))
	if err != nil {
		t.Fatal(err)
	}

	if w.Code != http.StatusAccepted || w.Header().Get("Location") != op.URL() {
		t.Fatalf("got %d Location %q, want 202 %q", w.Code, w.Header().Get("Location"), op.URL())
	}

	var env api.ResponseRaw
	err = json.Unmarshal(w.Body.Bytes(), &env)
	if err != nil {
		t.Fatal(err)
	}

	var body api.Operation
	err = env.MetadataAsStruct(&body)
	if err != nil {
		t.Fatal(err)
	}

	if env.Type != api.AsyncResponse || env.StatusCode != 100 || env.Operation != op.URL() ||
		body.StatusCode != api.Running || body.Metadata["secret"] != "abc" {
		t.Fatalf("got envelope %+v with %+v, want async 100 with the running operation", env, body)
	}

	if op.Status() != api.Running {
		t.Fatalf("got status %d, want the response to have started the operation", op.Status())
	}
}

func TestList(t *testing.T) {
	reg, _, fake := newRegistryClock(t, RegistryArgs{})
	a, err := reg.Create(Args{Class: api.OperationClassToken})
	if err != nil {
		t.Fatal(err)
	}

	fake.Advance(time.Second)

	b, err := reg.Create(Args{Class: api.OperationClassToken, Project: "p1"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		project string
		want    []*Operation
	}{
		{"", []*Operation{a, b}},
		{"default", []*Operation{a}},
		{"p1", []*Operation{b}},
		{"p2", nil},
	}

	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			got := reg.List(tt.project)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d operations, want %d", len(got), len(tt.want))
			}

			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %s at %d, want %s", got[i].ID(), i, tt.want[i].ID())
				}
			}
		})
	}
}
