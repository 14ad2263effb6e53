package daemon

import (
	"fmt"
	"testing"
	"time"
)

func TestAddrKey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"127.0.0.1:8443", "127.0.0.1"},
		{"[::ffff:10.0.0.1]:8443", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:8443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9%eth0]:1", "2001:db8:1:2::/64"},
		{"@", "@"},
	}

	for _, tc := range cases {
		got := addrKey(tc.in)
		if got != tc.want {
			t.Errorf("addrKey(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJoinLimiterBucket(t *testing.T) {
	l := newJoinLimiter(3, 10*time.Second, 100)
	now := time.Unix(1000, 0)
	for i := range 3 {
		_, ok := l.allow("a", now)
		if !ok {
			t.Fatalf("attempt %d: got refused, want allowed", i)
		}
	}

	wait, ok := l.allow("a", now)
	if ok || wait != 10*time.Second {
		t.Fatalf("got %v %v, want refused for 10s", ok, wait)
	}

	// Another address has its own budget.
	_, ok = l.allow("b", now)
	if !ok {
		t.Fatal("got b refused, want allowed")
	}

	// One attempt comes back per interval; refusals do not spend any.
	_, ok = l.allow("a", now.Add(5*time.Second))
	if ok {
		t.Fatal("got allowed after half an interval, want refused")
	}

	_, ok = l.allow("a", now.Add(10*time.Second))
	if !ok {
		t.Fatal("got refused after an interval, want allowed")
	}

	_, ok = l.allow("a", now.Add(10*time.Second))
	if ok {
		t.Fatal("got allowed twice after one interval, want refused")
	}
}

func TestJoinLimiterBounded(t *testing.T) {
	l := newJoinLimiter(2, time.Minute, 50)
	now := time.Unix(1000, 0)
	for i := range 500 {
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
		if l.tracked() > 50 {
			t.Fatalf("got %d addresses tracked, want at most 50", l.tracked())
		}
	}

	// Refilled addresses are forgotten.
	l.allow("10.1.0.1", now.Add(time.Hour))
	got := l.tracked()
	if got != 1 {
		t.Fatalf("got %d addresses tracked after they refilled, want 1", got)
	}
}

func TestConnLimiter(t *testing.T) {
	l := newConnLimiter(3, 2)
	for i := range 2 {
		if !l.acquire("a") {
			t.Fatalf("got connection %d of a refused under its cap", i)
		}
	}

	if l.acquire("a") {
		t.Fatal("got a third connection of a, want the per-address cap")
	}

	if !l.acquire("b") {
		t.Fatal("got b refused under the cap")
	}

	if l.acquire("c") {
		t.Fatal("got a fourth connection, want the total cap")
	}

	l.release("a")
	l.release("a")
	if !l.acquire("c") {
		t.Fatal("got c refused after a released")
	}

	got := len(l.byAddr)
	if got != 2 {
		t.Fatalf("got %d addresses tracked, want 2", got)
	}
}
