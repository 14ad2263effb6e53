package operations

// Tests of what depends on time, on the registry's fake clock: how long finished operations are kept, the
// timestamps, and bounded waits.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/operations/clock"
	"github.com/lxd-go/lxd/shared/api"
)

// TestRetention checks that every way of finishing keeps the operation readable, listed and findable for exactly
// the retention time, counted from the moment it finished.
func TestRetention(t *testing.T) {
	finishers := []struct {
		name   string
		class  api.OperationClass
		finish func(op *Operation) error
		want   api.StatusCode
	}{
		{"done", api.OperationClassToken, func(op *Operation) error { return op.Done(nil) }, api.Success},
		{"failed", api.OperationClassToken, func(op *Operation) error { return op.Fail(errors.New("x")) }, api.Failure},
		{"cancelled", api.OperationClassToken, func(op *Operation) error { return op.Cancel() }, api.Cancelled},
		{"task returned", api.OperationClassTask, nil, api.Success},
	}

	for _, tt := range finishers {
		t.Run(tt.name, func(t *testing.T) {
			reg, _, fake := newRegistryClock(t, RegistryArgs{Retention: time.Minute})
			release := make(chan struct{})
			args := Args{Class: tt.class, Metadata: map[string]any{"secret": "k"}}
			if tt.class == api.OperationClassTask {
				args.Run = func(ctx context.Context, op *Operation) error {
					<-release
					return nil
				}
			}

			op, err := reg.Create(args)
			if err != nil {
				t.Fatal(err)
			}

			err = op.Start()
			if err != nil {
				t.Fatal(err)
			}

			// Time spent running does not count.
			fake.Advance(time.Hour)
			if tt.finish != nil {
				err = tt.finish(op)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				close(release)
			}

			waitFinal(t, op)
			if op.Status() != tt.want {
				t.Fatalf("got status %d, want %d", op.Status(), tt.want)
			}

			if tt.finish != nil {
				close(release)
			}

			present := func() bool {
				_, err := reg.Get(op.ID())
				listed := len(reg.List("default")) == 1
				found := reg.Find(func(o *Operation) bool { return o.MatchSecret("k") }) == op
				if (err == nil) != listed || listed != found {
					t.Fatalf("Get (%v), List (%v) and Find (%v) disagree", err, listed, found)
				}

				return listed
			}

			fake.Advance(time.Minute - time.Nanosecond)
			if !present() {
				t.Fatal("dropped before the end of its retention")
			}

			fake.Advance(time.Nanosecond)
			if present() {
				t.Fatal("still there after its retention")
			}
		})
	}
}

// TestTimestamps checks that created_at and updated_at come from the registry's clock.
func TestTimestamps(t *testing.T) {
	reg, _, fake := newRegistryClock(t, RegistryArgs{})
	op, err := reg.Create(Args{Class: api.OperationClassToken})
	if err != nil {
		t.Fatal(err)
	}

	fake.Advance(time.Minute)
	err = op.Start()
	if err != nil {
		t.Fatal(err)
	}

	got := op.Render()
	if !got.CreatedAt.Equal(start) || !got.UpdatedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("got created %v updated %v, want %v and a minute later", got.CreatedAt, got.UpdatedAt, start)
	}

	fake.Advance(time.Minute)
	err = op.UpdateMetadata(map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}

	if !op.Render().UpdatedAt.Equal(start.Add(2 * time.Minute)) {
		t.Fatalf("got updated %v after the metadata change, want two minutes after the start", op.Render().UpdatedAt)
	}
}

// waitResult runs op.WaitTimeout in a goroutine and returns where its result arrives.
func waitResult(ctx context.Context, op *Operation, timeout time.Duration) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ch <- op.WaitTimeout(ctx, timeout)
	}()

	return ch
}

// receive returns the result of a wait, failing when none comes.
func receive(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(eventWait):
		t.Fatal("the wait did not return")
	}

	return nil
}

// timersEventually waits until the fake clock has at least n pending timers.
func timersEventually(t *testing.T, fake *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	err := fake.WaitForTimers(ctx, n)
	if err != nil {
		t.Fatalf("got %d timers, want %d: %v", fake.Timers(), n, err)
	}
}

func TestWaitTimeout(t *testing.T) {
	newToken := func(t *testing.T) (*Operation, *clock.Fake) {
		t.Helper()
		reg, _, fake := newRegistryClock(t, RegistryArgs{})
		op, err := reg.Create(Args{Class: api.OperationClassToken})
		if err != nil {
			t.Fatal(err)
		}

		err = op.Start()
		if err != nil {
			t.Fatal(err)
		}

		return op, fake
	}

	t.Run("zero returns at once", func(t *testing.T) {
		op, fake := newToken(t)
		err := op.WaitTimeout(context.Background(), 0)
		if !errors.Is(err, context.DeadlineExceeded) || fake.Timers() != 0 {
			t.Fatalf("got %v with %d timers, want the deadline error and no timer", err, fake.Timers())
		}

		_ = op.Done(nil)
		err = op.WaitTimeout(context.Background(), 0)
		if err != nil {
			t.Fatalf("got %v for a finished operation, want nil", err)
		}
	})

	t.Run("positive ends when the clock reaches it", func(t *testing.T) {
		op, fake := newToken(t)
		ch := waitResult(context.Background(), op, 30*time.Second)
		timersEventually(t, fake, 1)
		fake.Advance(30*time.Second - time.Nanosecond)
		if fake.Timers() != 1 {
			t.Fatal("the wait's timer fired early")
		}

		fake.Advance(time.Nanosecond)
		err := receive(t, ch)
		if !errors.Is(err, context.DeadlineExceeded) || op.Status() != api.Running {
			t.Fatalf("got %v with status %d, want the deadline error on a running operation", err, op.Status())
		}
	})

	t.Run("positive ends when the operation does", func(t *testing.T) {
		op, fake := newToken(t)
		ch := waitResult(context.Background(), op, time.Hour)
		timersEventually(t, fake, 1)
		_ = op.Done(nil)
		err := receive(t, ch)
		if err != nil {
			t.Fatalf("got %v, want nil once the operation is final", err)
		}

		// The wait's timer is gone; the one left keeps the finished operation for its retention.
		if fake.Timers() != 1 {
			t.Fatalf("got %d timers, want only the retention one", fake.Timers())
		}
	})

	t.Run("negative waits without limit", func(t *testing.T) {
		op, fake := newToken(t)
		ch := waitResult(context.Background(), op, -1)
		fake.Advance(100 * 365 * 24 * time.Hour)
		if fake.Timers() != 0 {
			t.Fatalf("got %d timers, want none for a wait without limit", fake.Timers())
		}

		_ = op.Done(nil)
		err := receive(t, ch)
		if err != nil {
			t.Fatalf("got %v, want nil once the operation is final", err)
		}
	})

	t.Run("context ends first", func(t *testing.T) {
		op, fake := newToken(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch := waitResult(ctx, op, time.Hour)
		timersEventually(t, fake, 1)
		cancel()
		err := receive(t, ch)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the context error", err)
		}
	})
}
