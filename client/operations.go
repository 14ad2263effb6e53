package client

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// Operation is a background operation of the server, as returned by asynchronous calls.
type Operation interface {
	// Get returns the operation as last seen.
	Get() api.Operation

	// Wait blocks until the operation is final; it returns the operation's error when it failed or was cancelled.
	Wait() error

	// WaitContext is Wait bounded by ctx.
	WaitContext(ctx context.Context) error

	// Cancel asks the server to cancel the operation.
	Cancel() error

	// Refresh reads the operation from the server again.
	Refresh() error

	// AddHandler calls function with the operation each time an operation event about it arrives.
	AddHandler(function func(api.Operation)) (*EventTarget, error)

	// RemoveHandler unregisters a handler added with AddHandler.
	RemoveHandler(target *EventTarget) error

	// GetWebsocket connects to one of the websockets of a websocket-class operation.
	GetWebsocket(secret string) (*websocket.Conn, error)
}

// operation implements Operation. It waits the way LXD's client does: it connects to the events websocket first,
// then reads the operation once (an event may have been sent before the connection), then follows its events until
// one carries a final status.
type operation struct {
	c *ProtocolLXD

	mu       sync.Mutex
	op       api.Operation
	listener *EventListener

	// done is closed once a final status has been seen.
	done chan struct{}
}

// newOperation wraps an operation object the server returned.
func (c *ProtocolLXD) newOperation(op api.Operation) *operation {
	o := &operation{c: c, op: op, done: make(chan struct{})}
	if op.StatusCode.IsFinal() {
		close(o.done)
	}

	return o
}

// Get returns the operation as last seen.
func (o *operation) Get() api.Operation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.op
}

// update records a newer state of the operation; it returns false when the state was stale.
func (o *operation) update(op api.Operation) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.isDone() {
		return false
	}

	if !op.StatusCode.IsFinal() && op.UpdatedAt.Before(o.op.UpdatedAt) {
		return false
	}

	o.op = op
	if op.StatusCode.IsFinal() {
		close(o.done)
	}

	return true
}

func (o *operation) isDone() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// decodeOperationEvent returns the operation an operation event carries.
func decodeOperationEvent(ev api.Event) (api.Operation, bool) {
	var op api.Operation
	if ev.Type != api.EventTypeOperation {
		return op, false
	}

	err := json.Unmarshal(ev.Metadata, &op)
	if err != nil {
		return op, false
	}

	return op, true
}

// setupListener connects the events listener once, then refreshes the operation to close the race with events sent
// before the connection. The listener is disconnected once the operation is final.
func (o *operation) setupListener() (*EventListener, error) {
	o.mu.Lock()
	if o.listener != nil || o.isDone() {
		l := o.listener
		o.mu.Unlock()
		return l, nil
	}

	l, err := o.c.GetEvents()
	if err != nil {
		o.mu.Unlock()
		return nil, err
	}

	id := o.op.ID
	_, err = l.AddHandler([]string{api.EventTypeOperation}, func(ev api.Event) {
		op, ok := decodeOperationEvent(ev)
		if ok && op.ID == id {
			o.update(op)
		}
	})
	if err != nil {
		o.mu.Unlock()
		l.Disconnect()
		return nil, err
	}

	o.listener = l
	o.mu.Unlock()

	go func() {
		select {
		case <-o.done:
			l.Disconnect()
		case <-l.Done():
		}
	}()

	err = o.Refresh()
	if err != nil {
		return nil, err
	}

	return l, nil
}

// operationPollInterval is how often a wait reads the operation again besides following its events.
const operationPollInterval = time.Second

// Wait blocks until the operation is final.
func (o *operation) Wait() error {
	return o.WaitContext(context.Background())
}

// WaitContext blocks until the operation is final or ctx ends.
func (o *operation) WaitContext(ctx context.Context) error {
	l, err := o.setupListener()
	if err != nil {
		return err
	}

	if l == nil {
		return o.result()
	}

	// The operation is also read again now and then: a server may send its final event before it has registered
	// the events connection opened for this wait (the stock daemon does), and that event is then never seen.
	poll := time.NewTicker(operationPollInterval)
	defer poll.Stop()
wait:
	for {
		select {
		case <-o.done:
			return o.result()
		case <-ctx.Done():
			return ctx.Err()
		case <-l.Done():
			break wait
		case <-poll.C:
			if o.Refresh() == nil && o.isDone() {
				return o.result()
			}
		}
	}

	// The events connection ended first; the operation may still have finished meanwhile.
	if !o.isDone() {
		refreshErr := o.Refresh()
		if refreshErr != nil || !o.isDone() {
			err := l.Wait()
			if err == nil {
				err = errors.New("event listener disconnected before the operation finished")
			}

			return err
		}
	}

	return o.result()
}

// result turns the final status into an error.
func (o *operation) result() error {
	op := o.Get()
	switch op.StatusCode {
	case api.Failure:
		if op.Err == "" {
			return errors.New("operation failed")
		}

		return errors.New(op.Err)
	case api.Cancelled:
		if op.Err == "" {
			return errors.New("operation cancelled")
		}

		return errors.New(op.Err)
	}

	return nil
}

// Cancel asks the server to cancel the operation.
func (o *operation) Cancel() error {
	return o.c.DeleteOperation(o.Get().ID)
}

// Refresh reads the operation from the server again.
func (o *operation) Refresh() error {
	op, _, err := o.c.GetOperation(o.Get().ID)
	if err != nil {
		return err
	}

	o.update(*op)
	return nil
}

// AddHandler calls function with each operation event about this operation.
func (o *operation) AddHandler(function func(api.Operation)) (*EventTarget, error) {
	if function == nil {
		return nil, errors.New("operation handler function is nil")
	}

	l, err := o.setupListener()
	if err != nil {
		return nil, err
	}

	if l == nil {
		return nil, errors.New("operation is already finished")
	}

	id := o.Get().ID
	return l.AddHandler([]string{api.EventTypeOperation}, func(ev api.Event) {
		op, ok := decodeOperationEvent(ev)
		if ok && op.ID == id {
			function(op)
		}
	})
}

// RemoveHandler unregisters a handler added with AddHandler.
func (o *operation) RemoveHandler(target *EventTarget) error {
	o.mu.Lock()
	l := o.listener
	o.mu.Unlock()
	if l == nil {
		return errors.New("operation has no event handlers")
	}

	return l.RemoveHandler(target)
}

// GetWebsocket connects to one of the websockets of the operation.
func (o *operation) GetWebsocket(secret string) (*websocket.Conn, error) {
	return o.c.GetOperationWebsocket(o.Get().ID, secret)
}
