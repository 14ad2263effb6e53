// Package operations runs the daemon's background operations (tasks, websocket sessions and tokens), tracks their
// status and publishes every change as an operation event.
//
// Status flow: Pending (105) on Create, Running (103) on Start, then Success (200), Failure (400) or Cancelled (401).
// A task runs Args.Run in a goroutine with a context that Cancel and Registry.Shutdown cancel. A token stays Running
// until the code consuming it calls Done or Cancel. Finished operations stay readable (and findable by secret) for
// Registry.Retention, then are dropped.
//
// Time comes from the registry's clock (RegistryArgs.Clock): the system clock in the daemon, a fake one in tests, so
// that retention and bounded waits are tested by moving the clock rather than by sleeping.
//
// may_cancel: every task and token may be cancelled while it is not final; Run must honour its context (that is the
// contract of Run). A websocket operation may be cancelled only when it has an OnCancel hook.
package operations

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/operations/clock"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
)

// DefaultRetention is how long finished operations stay readable.
const DefaultRetention = 5 * time.Second

// Registry holds the operations of one daemon.
type Registry struct {
	// Retention is how long finished operations stay readable; set it before creating operations.
	Retention time.Duration

	events *events.Server
	clock  clock.Clock

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	ops    map[string]*Operation
	closed bool

	// running counts the Run goroutines, so Shutdown can wait for them.
	running sync.WaitGroup
}

// RegistryArgs configures a new registry.
type RegistryArgs struct {
	// Events receives the operation events; nil sends none.
	Events *events.Server

	// Retention is how long finished operations stay readable; DefaultRetention when zero.
	Retention time.Duration

	// Clock is the time source for timestamps, retention and bounded waits; the system clock when nil.
	Clock clock.Clock
}

// NewRegistry returns an empty registry publishing to ev (which may be nil, then no event is sent), on the system
// clock with the default retention.
func NewRegistry(ev *events.Server) *Registry {
	return NewRegistryWithArgs(RegistryArgs{Events: ev})
}

// NewRegistryWithArgs returns an empty registry configured by args.
func NewRegistryWithArgs(args RegistryArgs) *Registry {
	if args.Retention == 0 {
		args.Retention = DefaultRetention
	}

	if args.Clock == nil {
		args.Clock = clock.Real{}
	}

	ctx, cancel := context.WithCancel(context.Background())
	return &Registry{
		Retention: args.Retention,
		events:    args.Events,
		clock:     args.Clock,
		ctx:       ctx,
		cancel:    cancel,
		ops:       map[string]*Operation{},
	}
}

// Clock returns the registry's time source.
func (reg *Registry) Clock() clock.Clock {
	return reg.clock
}

// now is the registry's current time in UTC, for the operations' timestamps.
func (reg *Registry) now() time.Time {
	return reg.clock.Now().UTC()
}

// Args describes a new operation.
type Args struct {
	// Project is the project the operation belongs to; default when empty.
	Project string

	// Class is task, websocket or token.
	Class api.OperationClass

	// Description says what the operation does ("Downloading image").
	Description string

	// Resources lists the affected resources by type ({"images": ["/1.0/images/<fp>"]}).
	Resources map[string][]string

	// Metadata is the initial metadata.
	Metadata map[string]any

	// Run does the work. It is required for tasks, optional for websocket operations and tokens. Its return ends the
	// operation: nil is Success, an error Failure (Cancelled when the operation was being cancelled).
	Run func(ctx context.Context, op *Operation) error

	// OnCancel, when set, is called once when the operation is cancelled, before it is marked Cancelled.
	OnCancel func(op *Operation) error

	// OnConnect serves the websocket connections of a websocket operation.
	OnConnect func(op *Operation, r *http.Request, w http.ResponseWriter) error

	// Requestor is who asked for the operation; it is carried by the operation's lifecycle events.
	Requestor *request.Requestor
}

// Create registers a new Pending operation and sends its first event. The operation does not run before Start.
func (reg *Registry) Create(args Args) (*Operation, error) {
	switch args.Class {
	case api.OperationClassTask:
		if args.Run == nil {
			return nil, fmt.Errorf("task operation %q has no run function: %w", args.Description, errs.ErrInvalid)
		}

	case api.OperationClassWebsocket:
		if args.OnConnect == nil {
			return nil, fmt.Errorf("websocket operation %q has no connect function: %w", args.Description,
				errs.ErrInvalid)
		}

	case api.OperationClassToken:
	default:
		return nil, fmt.Errorf("invalid operation class %q: %w", args.Class, errs.ErrInvalid)
	}

	project := args.Project
	if project == "" {
		project = resourcesProject(args.Resources)
	}

	id, err := newUUID()
	if err != nil {
		return nil, err
	}

	now := reg.now()
	ctx, cancel := context.WithCancel(reg.ctx)
	op := &Operation{
		reg:         reg,
		id:          id,
		project:     project,
		class:       args.Class,
		description: args.Description,
		createdAt:   now,
		updatedAt:   now,
		status:      api.Pending,
		resources:   copyResources(args.Resources),
		metadata:    copyMap(args.Metadata),
		run:         args.Run,
		onCancel:    args.OnCancel,
		onConnect:   args.OnConnect,
		requestor:   args.Requestor,
		ctx:         ctx,
		cancelCtx:   cancel,
		finished:    make(chan struct{}),
	}

	reg.mu.Lock()
	if reg.closed {
		reg.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("daemon is shutting down: %w", errs.ErrBusy)
	}

	reg.ops[id] = op
	reg.mu.Unlock()

	op.mu.Lock()
	op.sendLocked()
	op.mu.Unlock()
	return op, nil
}

// Get returns the operation with the given id, finished ones included while they are retained.
func (reg *Registry) Get(id string) (*Operation, error) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	op, ok := reg.ops[id]
	if !ok {
		return nil, fmt.Errorf("operation %q: %w", id, errs.ErrNotFound)
	}

	return op, nil
}

// List returns the operations of a project (all projects when project is empty), oldest first.
func (reg *Registry) List(project string) []*Operation {
	reg.mu.Lock()
	ops := make([]*Operation, 0, len(reg.ops))
	for _, op := range reg.ops {
		if project == "" || op.project == project {
			ops = append(ops, op)
		}
	}

	reg.mu.Unlock()
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].createdAt.Equal(ops[j].createdAt) {
			return ops[i].id < ops[j].id
		}

		return ops[i].createdAt.Before(ops[j].createdAt)
	})

	return ops
}

// Find returns the first operation (oldest first, finished ones included while retained) for which match is true,
// or nil. Image secrets and join tokens are looked up this way.
func (reg *Registry) Find(match func(op *Operation) bool) *Operation {
	for _, op := range reg.List("") {
		if match(op) {
			return op
		}
	}

	return nil
}

// Shutdown refuses new operations, cancels every operation that is not final and waits for their Run functions to
// return, or for ctx to end.
func (reg *Registry) Shutdown(ctx context.Context) error {
	reg.mu.Lock()
	reg.closed = true
	reg.mu.Unlock()

	for _, op := range reg.List("") {
		err := op.cancel(true)
		if err != nil && !op.Status().IsFinal() {
			reg.logCancelFailure(op, err)
		}
	}

	reg.cancel()
	done := make(chan struct{})
	go func() {
		reg.running.Wait()
		close(done)
	}()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for operations to stop: %w", ctx.Err())
	}
}

// forget drops a finished operation once its retention has passed on the registry's clock.
func (reg *Registry) forget(op *Operation) {
	reg.mu.Lock()
	retention := reg.Retention
	reg.mu.Unlock()
	reg.clock.AfterFunc(retention, func() {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		if reg.ops[op.id] == op {
			delete(reg.ops, op.id)
		}
	})
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	_, err := rand.Read(b[:])
	if err != nil {
		return "", fmt.Errorf("generate operation id: %w", err)
	}

	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}

	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}

	return out
}

func copyResources(m map[string][]string) map[string][]string {
	if len(m) == 0 {
		return nil
	}

	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}

	return out
}

// resourcesProject is the project of an operation whose creator named none: the one its resources name with
// ?project= (an operation on an instance of another project), default otherwise.
func resourcesProject(resources map[string][]string) string {
	for _, paths := range resources {
		for _, path := range paths {
			_, query, ok := strings.Cut(path, "?")
			if !ok {
				continue
			}

			v, err := url.ParseQuery(query)
			if err == nil && v.Get("project") != "" {
				return v.Get("project")
			}
		}
	}

	return "default"
}
