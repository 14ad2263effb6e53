package operations

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
)

// Operation is one background operation.
type Operation struct {
	reg         *Registry
	id          string
	project     string
	class       api.OperationClass
	description string
	createdAt   time.Time
	run         func(ctx context.Context, op *Operation) error
	onCancel    func(op *Operation) error
	onConnect   func(op *Operation, r *http.Request, w http.ResponseWriter) error
	requestor   *request.Requestor
	ctx         context.Context
	cancelCtx   context.CancelFunc

	// finished is closed when the operation reaches a final status.
	finished chan struct{}

	mu        sync.Mutex
	updatedAt time.Time
	status    api.StatusCode
	resources map[string][]string
	metadata  map[string]any
	err       string
}

// ID returns the operation's UUID.
func (op *Operation) ID() string {
	return op.id
}

// Project returns the project the operation belongs to.
func (op *Operation) Project() string {
	return op.project
}

// Class returns the operation's class.
func (op *Operation) Class() api.OperationClass {
	return op.class
}

// Requestor returns who asked for the operation, or nil.
func (op *Operation) Requestor() *request.Requestor {
	return op.requestor
}

// URL returns the operation's API path.
func (op *Operation) URL() string {
	return "/1.0/operations/" + op.id
}

// Status returns the current status.
func (op *Operation) Status() api.StatusCode {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.status
}

// Metadata returns a copy of the current metadata.
func (op *Operation) Metadata() map[string]any {
	op.mu.Lock()
	defer op.mu.Unlock()
	return copyMap(op.metadata)
}

// Finished returns a channel closed when the operation reaches a final status.
func (op *Operation) Finished() <-chan struct{} {
	return op.finished
}

// Wait blocks until the operation is final or ctx ends.
func (op *Operation) Wait(ctx context.Context) error {
	select {
	case <-op.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitTimeout blocks until the operation is final, ctx ends or timeout has passed on the registry's clock. A
// negative timeout waits without limit; zero does not wait. It returns nil once the operation is final,
// context.DeadlineExceeded when the timeout passed first, and ctx's error when ctx ended first.
func (op *Operation) WaitTimeout(ctx context.Context, timeout time.Duration) error {
	if timeout < 0 {
		return op.Wait(ctx)
	}

	select {
	case <-op.finished:
		return nil
	default:
	}

	if timeout == 0 {
		return context.DeadlineExceeded
	}

	expired := make(chan struct{})
	timer := op.reg.clock.AfterFunc(timeout, func() { close(expired) })
	defer timer.Stop()
	select {
	case <-op.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		// A timer and the end of the operation can come due together: the final status wins.
		select {
		case <-op.finished:
			return nil
		default:
			return context.DeadlineExceeded
		}
	}
}

// Render returns the operation as the API shows it.
func (op *Operation) Render() api.Operation {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.renderLocked()
}

func (op *Operation) renderLocked() api.Operation {
	return api.Operation{
		ID:          op.id,
		Class:       string(op.class),
		Description: op.description,
		CreatedAt:   op.createdAt,
		UpdatedAt:   op.updatedAt,
		Status:      op.status.String(),
		StatusCode:  op.status,
		Resources:   copyResources(op.resources),
		Metadata:    copyMap(op.metadata),
		MayCancel:   op.mayCancelLocked(),
		Err:         op.err,
		Location:    "none",
	}
}

// mayCancelLocked tells whether DELETE would cancel the operation now.
func (op *Operation) mayCancelLocked() bool {
	if op.status != api.Pending && op.status != api.Running {
		return false
	}

	return op.class != api.OperationClassWebsocket || op.onCancel != nil
}

// sendLocked publishes the operation's current state.
func (op *Operation) sendLocked() {
	if op.reg.events == nil {
		return
	}

	err := op.reg.events.Send(op.project, api.EventTypeOperation, op.renderLocked())
	if err != nil {
		slog.Error("failed sending operation event", "operation", op.id, "err", err)
	}
}

// Start moves a Pending operation to Running and, when it has a Run function, runs it in a goroutine.
func (op *Operation) Start() error {
	op.mu.Lock()
	if op.status != api.Pending {
		op.mu.Unlock()
		return fmt.Errorf("operation %s is %s, not pending: %w", op.id, op.status, errs.ErrConflict)
	}

	op.reg.mu.Lock()
	closed := op.reg.closed
	if !closed && op.run != nil {
		op.reg.running.Add(1)
	}

	op.reg.mu.Unlock()
	if closed {
		op.finishLocked(api.Cancelled, "daemon is shutting down")
		op.mu.Unlock()
		return fmt.Errorf("daemon is shutting down: %w", errs.ErrBusy)
	}

	op.status = api.Running
	op.updatedAt = op.reg.now()
	op.sendLocked()
	op.mu.Unlock()

	if op.run != nil {
		go op.runTask()
	}

	return nil
}

// runTask runs the Run function and turns its result into the final status.
func (op *Operation) runTask() {
	defer op.reg.running.Done()
	err := op.safeRun()

	op.mu.Lock()
	defer op.mu.Unlock()
	if op.status.IsFinal() {
		return
	}

	switch {
	case op.status == api.Cancelling:
		msg := ""
		if err != nil && !errors.Is(err, context.Canceled) {
			msg = err.Error()
		}

		op.finishLocked(api.Cancelled, msg)
	case err != nil:
		op.finishLocked(api.Failure, err.Error())
	default:
		op.finishLocked(api.Success, "")
	}
}

// safeRun runs the Run function, turning a panic into an error so one operation cannot take the daemon down.
func (op *Operation) safeRun() (err error) {
	defer func() {
		r := recover()
		if r != nil {
			slog.Error("operation panicked", "operation", op.id, "description", op.description, "panic", r)
			err = fmt.Errorf("operation panicked: %v", r)
		}
	}()

	return op.run(op.ctx, op)
}

// finishLocked sets a final status, publishes it and schedules the operation's removal.
func (op *Operation) finishLocked(status api.StatusCode, msg string) {
	op.status = status
	op.err = msg
	op.updatedAt = op.reg.now()
	op.sendLocked()
	close(op.finished)
	op.cancelCtx()
	if status == api.Cancelled && op.reg.events != nil {
		ev := api.EventLifecycle{Action: "operation-cancelled", Source: op.URL()}
		if op.requestor != nil {
			ev.Requestor = op.requestor.Lifecycle()
		}

		op.reg.events.SendLifecycle(op.project, ev)
	}

	op.reg.forget(op)
}

// UpdateMetadata replaces the metadata of an operation that is not final and publishes it.
func (op *Operation) UpdateMetadata(metadata map[string]any) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.status.IsFinal() {
		return fmt.Errorf("operation %s is already %s: %w", op.id, op.status, errs.ErrConflict)
	}

	op.metadata = copyMap(metadata)
	op.updatedAt = op.reg.now()
	op.sendLocked()
	return nil
}

// Done ends an operation successfully, replacing its metadata when metadata is not nil. Tokens end this way when
// consumed; a Run function still going on afterwards no longer changes the status.
func (op *Operation) Done(metadata map[string]any) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.status.IsFinal() {
		return fmt.Errorf("operation %s is already %s: %w", op.id, op.status, errs.ErrConflict)
	}

	if metadata != nil {
		op.metadata = copyMap(metadata)
	}

	op.finishLocked(api.Success, "")
	return nil
}

// Fail ends an operation with a failure carrying err's message.
func (op *Operation) Fail(err error) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.status.IsFinal() {
		return fmt.Errorf("operation %s is already %s: %w", op.id, op.status, errs.ErrConflict)
	}

	op.finishLocked(api.Failure, err.Error())
	return nil
}

// ErrNotCancellable is returned when cancelling an operation that is final or cannot be cancelled.
var ErrNotCancellable = api.NewStatusError(http.StatusBadRequest, "only running operations can be cancelled")

// Cancel asks the operation to stop: it becomes Cancelling, OnCancel runs, the Run context is cancelled, and it
// becomes Cancelled once Run has returned (at once when nothing runs). Cancel does not wait for Run; use Wait.
func (op *Operation) Cancel() error {
	return op.cancel(false)
}

// cancel implements Cancel; force cancels even operations that refuse it (daemon shutdown).
func (op *Operation) cancel(force bool) error {
	op.mu.Lock()
	if op.status == api.Cancelling {
		op.mu.Unlock()
		return nil
	}

	if op.status.IsFinal() || (!force && !op.mayCancelLocked()) {
		op.mu.Unlock()
		return ErrNotCancellable
	}

	previous := op.status
	op.status = api.Cancelling
	op.updatedAt = op.reg.now()
	op.sendLocked()
	op.mu.Unlock()

	if op.onCancel != nil {
		err := op.onCancel(op)
		if err != nil && !force {
			op.mu.Lock()
			if op.status == api.Cancelling {
				op.status = previous
				op.updatedAt = op.reg.now()
				op.sendLocked()
			}

			op.mu.Unlock()
			return fmt.Errorf("cancel operation %s: %w", op.id, err)
		}

		if err != nil {
			op.reg.logCancelFailure(op, err)
		}
	}

	op.cancelCtx()

	op.mu.Lock()
	defer op.mu.Unlock()

	// A running Run function finishes the operation itself when it returns.
	if previous == api.Running && op.run != nil {
		return nil
	}

	if !op.status.IsFinal() {
		op.finishLocked(api.Cancelled, "")
	}

	return nil
}

// Connect hands a websocket request to the operation's OnConnect function.
func (op *Operation) Connect(r *http.Request, w http.ResponseWriter) error {
	if op.class != api.OperationClassWebsocket || op.onConnect == nil {
		return api.StatusErrorf(http.StatusBadRequest, "operation %s is not a websocket operation", op.id)
	}

	if op.Status() != api.Running {
		return api.StatusErrorf(http.StatusBadRequest, "operation %s is not running", op.id)
	}

	return op.onConnect(op, r, w)
}

// MatchSecret reports whether secret is the operation's metadata "secret" or one of its "fds" secrets.
func (op *Operation) MatchSecret(secret string) bool {
	if secret == "" {
		return false
	}

	md := op.Metadata()
	candidates := []string{}
	s, ok := md["secret"].(string)
	if ok {
		candidates = append(candidates, s)
	}

	// A migration's websockets are named at the top of its metadata.
	for _, k := range []string{"control", "fs"} {
		s, ok := md[k].(string)
		if ok {
			candidates = append(candidates, s)
		}
	}

	switch fds := md["fds"].(type) {
	case map[string]string:
		for _, v := range fds {
			candidates = append(candidates, v)
		}

	case map[string]any:
		for _, v := range fds {
			s, ok := v.(string)
			if ok {
				candidates = append(candidates, s)
			}
		}
	}

	for _, c := range candidates {
		if c != "" && subtle.ConstantTimeCompare([]byte(c), []byte(secret)) == 1 {
			return true
		}
	}

	return false
}

// logCancelFailure logs an OnCancel error that could not be returned to anyone.
func (reg *Registry) logCancelFailure(op *Operation, err error) {
	slog.Warn("failed cancelling operation", "operation", op.id, "description", op.description, "err", err)
}
