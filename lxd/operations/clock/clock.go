// Package clock is the time source of the operations registry: the real clock in the daemon, and a fake one that
// tests move forward explicitly, so that what depends on time (how long finished operations are kept, how long a
// wait lasts) is tested without sleeping.
package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock tells the time and runs functions after a duration.
type Clock interface {
	// Now returns the current time.
	Now() time.Time

	// AfterFunc calls f in its own goroutine (the real clock) or from Fake.Advance (the fake one) once d has
	// passed, unless the returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call of AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet, and reports whether it did prevent it.
	Stop() bool
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time {
	return time.Now()
}

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}

// Fake is a clock that only moves when Advance is called. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer

	// changed is closed, and replaced, whenever a timer is added, so WaitForTimers can wait without polling.
	changed chan struct{}
}

// NewFake returns a fake clock showing start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

type fakeTimer struct {
	clock *Fake
	at    time.Time
	seq   int
	f     func()
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to be called by the Advance that reaches now+d. A timer with d <= 0 is due at once and
// is called by the next Advance (Advance(0) included).
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

// Stop removes the timer if it has not fired.
func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, other := range c.timers {
		if other == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}

	return false
}

// Advance moves the clock forward by d, calling the functions of the timers that come due, earliest first (in the
// order they were set for equal deadlines), each with the clock showing its deadline, from the caller's goroutine
// and without any lock of the clock held. A timer set by one of those functions fires within the same Advance when
// it is due by its end.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool {
			if c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].seq < c.timers[j].seq
			}

			return c.timers[i].at.Before(c.timers[j].at)
		})

		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}

		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}

		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}

	if end.After(c.now) {
		c.now = end
	}

	c.mu.Unlock()
}

// Timers returns how many timers are pending.
func (c *Fake) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForTimers blocks until at least n timers are pending, or ctx ends. Tests use it to know that the code they
// drive has started waiting on the clock before they advance it.
func (c *Fake) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count := len(c.timers)
		changed := c.changed
		c.mu.Unlock()
		if count >= n {
			return nil
		}

		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
