package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// receive returns the next frame of l, failing after a second.
func receive(t *testing.T, l *Listener) []byte {
	t.Helper()
	select {
	case frame, ok := <-l.Frames():
		if !ok {
			t.Fatal("listener closed, want a frame")
		}

		return frame
	case <-time.After(time.Second):
		t.Fatal("no frame within 1s")
	}

	return nil
}

// decode parses one frame, checking it is a single JSON object followed by "\n".
func decode(t *testing.T, frame []byte) api.Event {
	t.Helper()
	if !bytes.HasSuffix(frame, []byte("}\n")) || bytes.Count(frame, []byte("\n")) != 1 {
		t.Fatalf("got frame %q, want one JSON object followed by a newline", frame)
	}

	var ev api.Event
	err := json.Unmarshal(frame, &ev)
	if err != nil {
		t.Fatalf("decode frame %q: %v", frame, err)
	}

	return ev
}

func TestSendFrame(t *testing.T) {
	tests := []struct {
		name        string
		project     string
		eventType   string
		wantProject string
	}{
		{"operation default project", "", api.EventTypeOperation, "default"},
		{"lifecycle named project", "p1", api.EventTypeLifecycle, "p1"},
		{"logging has no project", "p1", api.EventTypeLogging, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			l, err := s.Subscribe(ListenerArgs{Trusted: true})
			if err != nil {
				t.Fatal(err)
			}

			err = s.Send(tt.project, tt.eventType, map[string]any{"k": "v"})
			if err != nil {
				t.Fatal(err)
			}

			frame := receive(t, l)
			ev := decode(t, frame)
			if ev.Type != tt.eventType || ev.Location != "none" || ev.Project != tt.wantProject {
				t.Fatalf("got type %q location %q project %q, want %q none %q", ev.Type, ev.Location, ev.Project,
					tt.eventType, tt.wantProject)
			}

			if string(ev.Metadata) != `{"k":"v"}` {
				t.Fatalf("got metadata %s, want {\"k\":\"v\"}", ev.Metadata)
			}

			if ev.Timestamp.IsZero() || time.Since(ev.Timestamp) > time.Minute {
				t.Fatalf("got timestamp %v, want now", ev.Timestamp)
			}

			hasProject := strings.Contains(string(frame), `"project"`)
			if hasProject != (tt.wantProject != "") {
				t.Fatalf("frame %q: project field present %v, want %v", frame, hasProject, tt.wantProject != "")
			}
		})
	}
}

func TestSendInvalidType(t *testing.T) {
	s := NewServer()
	err := s.Send("", "bogus", nil)
	if err == nil {
		t.Fatal("got no error for an unknown event type")
	}

	_, err = s.Subscribe(ListenerArgs{Types: []string{"operation", "bogus"}})
	if err == nil {
		t.Fatal("got no error subscribing to an unknown event type")
	}
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name      string
		args      ListenerArgs
		eventType string
		project   string
		want      bool
	}{
		{"no filter gets operation", ListenerArgs{Trusted: true}, api.EventTypeOperation, "", true},
		{"no filter gets lifecycle", ListenerArgs{Trusted: true}, api.EventTypeLifecycle, "", true},
		{"no filter gets logging", ListenerArgs{Trusted: true}, api.EventTypeLogging, "", true},
		{"lifecycle filter skips operation", ListenerArgs{Types: []string{"lifecycle"}, Trusted: true},
			api.EventTypeOperation, "", false},
		{"lifecycle filter skips logging", ListenerArgs{Types: []string{"lifecycle"}, Trusted: true},
			api.EventTypeLogging, "", false},
		{"two types", ListenerArgs{Types: []string{"operation", "lifecycle"}, Trusted: true},
			api.EventTypeLifecycle, "", true},
		{"logging filter gets logging", ListenerArgs{Types: []string{"logging"}, Trusted: true},
			api.EventTypeLogging, "", true},
		{"untrusted never gets logging", ListenerArgs{}, api.EventTypeLogging, "", false},
		{"untrusted asking logging", ListenerArgs{Types: []string{"logging"}}, api.EventTypeLogging, "", false},
		{"untrusted gets lifecycle", ListenerArgs{}, api.EventTypeLifecycle, "", true},
		{"project match", ListenerArgs{Project: "p1", Trusted: true}, api.EventTypeOperation, "p1", true},
		{"project mismatch", ListenerArgs{Project: "p1", Trusted: true}, api.EventTypeOperation, "p2", false},
		{"project default", ListenerArgs{Project: "default", Trusted: true}, api.EventTypeLifecycle, "", true},
		{"project ignores logging", ListenerArgs{Project: "p1", Trusted: true}, api.EventTypeLogging, "", true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			l, err := s.Subscribe(tt.args)
			if err != nil {
				t.Fatal(err)
			}

			err = s.Send(tt.project, tt.eventType, map[string]any{})
			if err != nil {
				t.Fatal(err)
			}

			got := len(l.Frames()) == 1
			if got != tt.want {
				t.Fatalf("got delivered %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSlowListenerDropped(t *testing.T) {
	s := NewServer()
	s.QueueSize = 500
	fast, err := s.Subscribe(ListenerArgs{Trusted: true})
	if err != nil {
		t.Fatal(err)
	}

	s.QueueSize = 3
	slow, err := s.Subscribe(ListenerArgs{Trusted: true})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	for i := 0; i < 100; i++ {
		err = s.Send("", api.EventTypeLifecycle, map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
	}

	if time.Since(start) > 2*time.Second {
		t.Fatalf("sending took %v, a slow listener blocked the sender", time.Since(start))
	}

	if !slow.Dropped() {
		t.Fatal("slow listener was not dropped")
	}

	n := 0
	for range slow.Frames() {
		n++
	}

	if n != 3 {
		t.Fatalf("got %d frames queued for the slow listener, want 3", n)
	}

	if fast.Dropped() || len(fast.Frames()) != 100 {
		t.Fatalf("fast listener: dropped %v with %d frames, want kept with 100", fast.Dropped(), len(fast.Frames()))
	}

	if s.ListenerCount() != 1 {
		t.Fatalf("got %d listeners, want 1", s.ListenerCount())
	}
}

func TestCloseRemovesListeners(t *testing.T) {
	s := NewServer()
	l, err := s.Subscribe(ListenerArgs{})
	if err != nil {
		t.Fatal(err)
	}

	err = s.Send("", api.EventTypeLifecycle, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}

	s.Close(time.Second)
	_ = receive(t, l)
	_, ok := <-l.Frames()
	if ok {
		t.Fatal("listener still open after Close")
	}

	if l.Dropped() {
		t.Fatal("listener removed by Close reports being dropped")
	}

	_, err = s.Subscribe(ListenerArgs{})
	if err == nil {
		t.Fatal("subscribing to a closed server succeeded")
	}

	err = s.Send("", api.EventTypeLifecycle, map[string]any{})
	if err != nil {
		t.Fatalf("send to a closed server: %v", err)
	}
}

func TestLogHandler(t *testing.T) {
	s := NewServer()
	var out bytes.Buffer
	next := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})
	logger := slog.New(NewLogHandler(next, s))

	if logger.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("debug enabled without logging listeners, want disabled")
	}

	l, err := s.Subscribe(ListenerArgs{Types: []string{api.EventTypeLogging}, Trusted: true})
	if err != nil {
		t.Fatal(err)
	}

	if !logger.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("debug disabled with a logging listener, want enabled")
	}

	tests := []struct {
		name      string
		log       func()
		level     string
		message   string
		context   map[string]string
		toNext    bool
		nextMatch string
	}{
		{
			name:    "debug",
			log:     func() { logger.Debug("handling API request", "method", "GET", "n", 3) },
			level:   "debug",
			message: "handling API request",
			context: map[string]string{"method": "GET", "n": "3"},
		},
		{
			name:      "warning with attrs and group",
			log:       func() { logger.With("ip", "@").WithGroup("req").Warn("slow", "ms", 12) },
			level:     "warning",
			message:   "slow",
			context:   map[string]string{"ip": "@", "req.ms": "12"},
			toNext:    true,
			nextMatch: "req.ms=12",
		},
		{
			name:      "error",
			log:       func() { logger.Error("broken", slog.Group("g", "a", "b")) },
			level:     "error",
			message:   "broken",
			context:   map[string]string{"g.a": "b"},
			toNext:    true,
			nextMatch: "g.a=b",
		},
		{
			name:    "info",
			log:     func() { logger.Info("started") },
			level:   "info",
			message: "started",
			context: map[string]string{},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			tt.log()
			ev := decode(t, receive(t, l))
			var rec api.EventLogging
			err := json.Unmarshal(ev.Metadata, &rec)
			if err != nil {
				t.Fatal(err)
			}

			if rec.Level != tt.level || rec.Message != tt.message {
				t.Fatalf("got level %q message %q, want %q %q", rec.Level, rec.Message, tt.level, tt.message)
			}

			if len(rec.Context) != len(tt.context) {
				t.Fatalf("got context %v, want %v", rec.Context, tt.context)
			}

			for k, v := range tt.context {
				if rec.Context[k] != v {
					t.Fatalf("got context %v, want %v", rec.Context, tt.context)
				}
			}

			if tt.toNext != (out.Len() > 0) || !strings.Contains(out.String(), tt.nextMatch) {
				t.Fatalf("next handler got %q, want written %v containing %q", out.String(), tt.toNext, tt.nextMatch)
			}
		})
	}
}
