package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeAdvanceFiresDueTimersInOrder(t *testing.T) {
	c := NewFake(t0)
	var fired []string
	var seen []time.Time
	record := func(name string) func() {
		return func() {
			fired = append(fired, name)
			seen = append(seen, c.Now())
		}
	}

	c.AfterFunc(3*time.Second, record("c"))
	c.AfterFunc(time.Second, record("a"))
	c.AfterFunc(2*time.Second, record("b1"))
	c.AfterFunc(2*time.Second, record("b2"))
	c.AfterFunc(time.Hour, record("late"))

	c.Advance(time.Second - time.Nanosecond)
	if len(fired) != 0 {
		t.Fatalf("fired %v before any deadline", fired)
	}

	c.Advance(2*time.Second + time.Nanosecond)
	want := []string{"a", "b1", "b2", "c"}
	if len(fired) != len(want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}

	for i := range want {
		if fired[i] != want[i] {
			t.Fatalf("fired %v, want %v", fired, want)
		}
	}

	if !seen[0].Equal(t0.Add(time.Second)) || !seen[3].Equal(t0.Add(3*time.Second)) {
		t.Fatalf("timers saw %v, want their own deadlines", seen)
	}

	if !c.Now().Equal(t0.Add(3*time.Second)) || c.Timers() != 1 {
		t.Fatalf("got now %v with %d timers, want 3s later with the late timer left", c.Now(), c.Timers())
	}
}

func TestFakeStop(t *testing.T) {
	c := NewFake(t0)
	fired := false
	timer := c.AfterFunc(time.Second, func() { fired = true })
	if !timer.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}

	if timer.Stop() {
		t.Fatal("second Stop returned true")
	}

	c.Advance(time.Minute)
	if fired {
		t.Fatal("a stopped timer fired")
	}

	timer = c.AfterFunc(time.Second, func() {})
	c.Advance(time.Second)
	if timer.Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
}

func TestFakeTimerSetByATimer(t *testing.T) {
	c := NewFake(t0)
	fired := 0
	c.AfterFunc(time.Second, func() {
		c.AfterFunc(time.Second, func() { fired++ })
		c.AfterFunc(time.Hour, func() { fired += 100 })
	})

	c.AfterFunc(0, func() { fired += 10 })
	c.Advance(0)
	if fired != 10 {
		t.Fatalf("got %d after Advance(0), want the due timer only", fired)
	}

	c.Advance(2 * time.Second)
	if fired != 11 {
		t.Fatalf("got %d, want the nested timer fired within the same Advance", fired)
	}
}

func TestFakeWaitForTimers(t *testing.T) {
	c := NewFake(t0)
	done := make(chan error, 1)
	go func() {
		done <- c.WaitForTimers(context.Background(), 2)
	}()

	c.AfterFunc(time.Second, func() {})
	c.AfterFunc(time.Second, func() {})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitForTimers did not see two timers")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.WaitForTimers(ctx, 3)
	if err == nil {
		t.Fatal("WaitForTimers returned nil without enough timers and a cancelled context")
	}
}

func TestReal(t *testing.T) {
	var c Clock = Real{}
	before := time.Now()
	if c.Now().Before(before) {
		t.Fatal("the real clock is behind time.Now")
	}

	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the real timer did not fire")
	}
}
