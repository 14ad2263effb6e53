// Package events fans daemon events (operation, lifecycle and logging) out to the listeners of the events
// websocket and to in-process subscribers.
package events

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// DefaultQueueSize is how many events may wait for one listener before it is dropped as too slow.
const DefaultQueueSize = 1024

// allTypes are the event types a listener without a filter receives.
var allTypes = []string{api.EventTypeOperation, api.EventTypeLogging, api.EventTypeLifecycle}

// Server distributes events to its listeners. Senders never block: each listener has a bounded queue and a listener
// whose queue overflows is dropped.
type Server struct {
	// QueueSize is the queue length of listeners added from now on; DefaultQueueSize when zero.
	QueueSize int

	// PingInterval is how often websocket listeners are pinged; DefaultPingInterval when zero.
	PingInterval time.Duration

	mu        sync.Mutex
	listeners map[*Listener]struct{}
	closed    bool

	// loggingListeners counts the listeners that receive logging events, so the log handler can skip work.
	loggingListeners atomic.Int64

	// writers tracks the websocket writer goroutines so Close can wait for them to flush.
	writers sync.WaitGroup

	// location returns the name of the cluster member the events come from ("" when not clustered).
	location atomic.Pointer[func() string]
}

// SetLocation makes the events sent from now on carry the name location returns ("none" when it returns ""): the
// cluster member they come from.
func (s *Server) SetLocation(location func() string) {
	s.location.Store(&location)
}

// NewServer returns an events server with no listeners.
func NewServer() *Server {
	return &Server{listeners: map[*Listener]struct{}{}}
}

// Listener is one subscriber. Its frames (one JSON object followed by "\n" each) arrive on Frames.
type Listener struct {
	server  *Server
	types   map[string]bool
	project string
	trusted bool
	queue   chan []byte

	// overflowed is set, under the server lock, when the listener is dropped for being too slow.
	overflowed bool
	removed    bool
}

// ListenerArgs describes a new listener.
type ListenerArgs struct {
	// Types restricts the event types; empty means all of them.
	Types []string

	// Project restricts lifecycle and operation events to one project; empty means all projects.
	Project string

	// Trusted must be true for the listener to receive logging events.
	Trusted bool
}

// ValidateTypes checks a list of event type names.
func ValidateTypes(types []string) error {
	for _, t := range types {
		if !slices.Contains(allTypes, t) {
			return fmt.Errorf("invalid event type %q", t)
		}
	}

	return nil
}

// Subscribe adds a listener. Its Frames channel is closed when the listener is removed, dropped or the server closes.
func (s *Server) Subscribe(args ListenerArgs) (*Listener, error) {
	err := ValidateTypes(args.Types)
	if err != nil {
		return nil, err
	}

	types := args.Types
	if len(types) == 0 {
		types = allTypes
	}

	l := &Listener{server: s, types: map[string]bool{}, project: args.Project, trusted: args.Trusted}
	for _, t := range types {
		l.types[t] = true
	}

	if !args.Trusted {
		delete(l.types, api.EventTypeLogging)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("events server is shutting down")
	}

	size := s.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}

	l.queue = make(chan []byte, size)
	s.listeners[l] = struct{}{}
	if l.types[api.EventTypeLogging] {
		s.loggingListeners.Add(1)
	}

	return l, nil
}

// Frames returns the channel the listener's frames arrive on.
func (l *Listener) Frames() <-chan []byte {
	return l.queue
}

// Close removes the listener; its Frames channel is closed.
func (l *Listener) Close() {
	l.server.mu.Lock()
	defer l.server.mu.Unlock()
	l.server.removeLocked(l)
}

// Dropped reports whether the listener was removed because its queue overflowed.
func (l *Listener) Dropped() bool {
	l.server.mu.Lock()
	defer l.server.mu.Unlock()
	return l.overflowed
}

// removeLocked removes a listener; the caller holds s.mu.
func (s *Server) removeLocked(l *Listener) {
	if l.removed {
		return
	}

	l.removed = true
	delete(s.listeners, l)
	if l.types[api.EventTypeLogging] {
		s.loggingListeners.Add(-1)
	}

	close(l.queue)
}

// wants reports whether the listener receives an event of the given type and project.
func (l *Listener) wants(eventType string, project string) bool {
	if !l.types[eventType] {
		return false
	}

	if eventType == api.EventTypeLogging {
		return l.trusted
	}

	return l.project == "" || project == "" || l.project == project
}

// Send encodes metadata as an event of the given type and queues it for every listener that wants it. Lifecycle and
// operation events without a project belong to the default project; logging events carry none.
func (s *Server) Send(project string, eventType string, metadata any) error {
	err := ValidateTypes([]string{eventType})
	if err != nil {
		return err
	}

	raw, err := json.Marshal(metadata)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}

	if project == "" && eventType != api.EventTypeLogging {
		project = "default"
	}

	if eventType == api.EventTypeLogging {
		project = ""
	}

	ev := api.Event{
		Type:      eventType,
		Timestamp: time.Now().UTC(),
		Metadata:  raw,
		Location:  "none",
		Project:   project,
	}

	if loc := s.location.Load(); loc != nil {
		if name := (*loc)(); name != "" {
			ev.Location = name
		}
	}

	return s.dispatch(ev)
}

// Relay queues an event another cluster member sent, as it came, for every listener that wants it.
func (s *Server) Relay(ev api.Event) error {
	err := ValidateTypes([]string{ev.Type})
	if err != nil {
		return err
	}

	return s.dispatch(ev)
}

// dispatch queues an event for every listener that wants it.
func (s *Server) dispatch(ev api.Event) error {
	eventType, project := ev.Type, ev.Project
	frame, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}

	frame = append(frame, '\n')
	var dropped int
	s.mu.Lock()
	for l := range s.listeners {
		if !l.wants(eventType, project) {
			continue
		}

		select {
		case l.queue <- frame:
		default:
			l.overflowed = true
			s.removeLocked(l)
			dropped++
		}
	}

	s.mu.Unlock()

	// Log after unlocking: the log handler may send a logging event itself.
	if dropped > 0 {
		slog.Warn("dropped slow event listeners", "count", dropped, "type", eventType)
	}

	return nil
}

// SendLifecycle sends a lifecycle event, logging a failure to encode it.
func (s *Server) SendLifecycle(project string, ev api.EventLifecycle) {
	err := s.Send(project, api.EventTypeLifecycle, ev)
	if err != nil {
		slog.Error("failed sending lifecycle event", "action", ev.Action, "err", err)
	}
}

// Close removes every listener and refuses new ones. Websocket listeners flush what is queued and get a close frame;
// Close waits for that until timeout.
func (s *Server) Close(timeout time.Duration) {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		s.removeLocked(l)
	}

	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.writers.Wait()
		close(done)
	}()

	select {
	case <-done:
	case <-time.After(timeout):
		slog.Warn("timed out flushing event listeners")
	}
}

// ListenerCount returns the number of listeners.
func (s *Server) ListenerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}

// ParseTypes splits a comma separated ?type= value; empty items are ignored.
func ParseTypes(raw string) []string {
	var types []string
	for _, t := range strings.Split(raw, ",") {
		t = strings.TrimSpace(t)
		if t != "" {
			types = append(types, t)
		}
	}

	return types
}
