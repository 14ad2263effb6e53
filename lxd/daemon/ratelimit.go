package daemon

import (
	"container/list"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// addrKey names the client of a "host:port" address for the per-address limits: the IP, or its /64 for IPv6 (one
// host commonly holds a whole /64).
func addrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}

	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}

	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}

	prefix, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return ip.String()
	}

	return prefix.String()
}

// connLimiter counts untrusted connections, in all and per address. Its map holds only addresses with open
// connections, so it is bounded by the total cap.
type connLimiter struct {
	max     int
	perAddr int

	mu       sync.Mutex
	total    int
	byAddr   map[string]int
	lastWarn time.Time
}

func newConnLimiter(max int, perAddr int) *connLimiter {
	return &connLimiter{max: max, perAddr: perAddr, byAddr: map[string]int{}}
}

// acquire takes a slot for a connection from key, or reports false when a cap is reached.
func (l *connLimiter) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return false
	}

	if l.perAddr > 0 && l.byAddr[key] >= l.perAddr {
		return false
	}

	l.total++
	l.byAddr[key]++
	return true
}

// release gives back a slot of key.
func (l *connLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	l.byAddr[key]--
	if l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
}

// open returns the number of untrusted connections.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// logRefusal warns of refused connections, at most once every 10 seconds.
func (l *connLimiter) logRefusal(key string) {
	l.mu.Lock()
	now := time.Now()
	warn := now.Sub(l.lastWarn) >= 10*time.Second
	if warn {
		l.lastWarn = now
	}

	total := l.total
	l.mu.Unlock()
	if warn {
		slog.Warn("untrusted connection refused: too many open", "address", key, "open", total)
	}
}

// joinLimiter is a token bucket per address for trust-password and join-token attempts. It tracks at most size
// addresses, least recently seen first out; an address whose bucket has filled up again is forgotten.
type joinLimiter struct {
	burst    int
	interval time.Duration
	size     int

	mu       sync.Mutex
	byAddr   map[string]*list.Element
	recency  *list.List // of *joinBucket, most recently seen first
	lastWarn time.Time
}

type joinBucket struct {
	addr   string
	tokens float64
	seen   time.Time
}

func newJoinLimiter(burst int, interval time.Duration, size int) *joinLimiter {
	return &joinLimiter{burst: max(1, burst), interval: interval, size: max(1, size),
		byAddr: map[string]*list.Element{}, recency: list.New()}
}

// full reports whether the bucket has refilled completely at now, so that forgetting it changes nothing.
func (l *joinLimiter) full(b *joinBucket, now time.Time) bool {
	return l.interval <= 0 || b.tokens+float64(now.Sub(b.seen))/float64(l.interval) >= float64(l.burst)
}

// allow spends one attempt of addr at now; when none is left it reports false and how long until the next one.
func (l *joinLimiter) allow(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()

	// Forget the addresses that have refilled, oldest first.
	for e := l.recency.Back(); e != nil; e = l.recency.Back() {
		b, _ := e.Value.(*joinBucket)
		if !l.full(b, now) {
			break
		}

		l.recency.Remove(e)
		delete(l.byAddr, b.addr)
	}

	e, ok := l.byAddr[addr]
	if !ok {
		if l.recency.Len() >= l.size {
			// Full of live entries: the least recently seen address starts over.
			back := l.recency.Back()
			b, _ := back.Value.(*joinBucket)
			l.recency.Remove(back)
			delete(l.byAddr, b.addr)
		}

		e = l.recency.PushFront(&joinBucket{addr: addr, tokens: float64(l.burst), seen: now})
		l.byAddr[addr] = e
	}

	l.recency.MoveToFront(e)
	b, _ := e.Value.(*joinBucket)
	if l.interval > 0 {
		b.tokens = min(float64(l.burst), b.tokens+float64(now.Sub(b.seen))/float64(l.interval))
	}

	b.seen = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(l.interval))
		return wait, false
	}

	b.tokens--
	return 0, true
}

// logRefusal warns of refused attempts, at most once every 10 seconds.
func (l *joinLimiter) logRefusal(addr string) {
	l.mu.Lock()
	now := time.Now()
	warn := now.Sub(l.lastWarn) >= 10*time.Second
	if warn {
		l.lastWarn = now
	}

	l.mu.Unlock()
	if warn {
		slog.Warn("trust attempts refused: too many from one address", "address", addr)
	}
}

// tracked returns the number of addresses tracked.
func (l *joinLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recency.Len()
}
