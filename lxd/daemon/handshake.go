package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"time"
)

// cpuSlots are turns for CPU-heavy work that strangers can start (TLS handshakes): at most n at once, and a wait for a
// turn gives up after wait.
type cpuSlots struct {
	ch   chan struct{}
	wait time.Duration
}

func newCPUSlots(n int, wait time.Duration) *cpuSlots {
	return &cpuSlots{ch: make(chan struct{}, max(1, n)), wait: wait}
}

var errBusy = errors.New("server busy: too many TLS handshakes at once")

// acquire waits for a turn.
func (s *cpuSlots) acquire(ctx context.Context) error {
	select {
	case s.ch <- struct{}{}:
		return nil
	default:
	}

	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-timer.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *cpuSlots) release() {
	<-s.ch
}

// handshakeGate is the handshake state of one connection: from the ClientHello to VerifyConnection it holds a turn
// while it computes, and gives the turn back for each read (a stalled client holds none).
type handshakeGate struct {
	mu      sync.Mutex
	slots   *cpuSlots // non-nil from the ClientHello to the end of the handshake
	holding bool
}

// begin starts gating: it waits for a first turn.
func (h *handshakeGate) begin(ctx context.Context, slots *cpuSlots) error {
	err := slots.acquire(ctx)
	if err != nil {
		return err
	}

	h.mu.Lock()
	h.slots = slots
	h.holding = true
	h.mu.Unlock()
	return nil
}

// pause gives the turn back before a read; it returns the slots to resume on, nil when not gating.
func (h *handshakeGate) pause() *cpuSlots {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slots == nil {
		return nil
	}

	if h.holding {
		h.holding = false
		h.slots.release()
	}

	return h.slots
}

// resume waits for a turn again after a read, unless the handshake ended meanwhile.
func (h *handshakeGate) resume(slots *cpuSlots) error {
	err := slots.acquire(context.Background())
	if err != nil {
		return err
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slots != slots || h.holding {
		slots.release()
		return nil
	}

	h.holding = true
	return nil
}

// end stops gating and gives back the turn held, once.
func (h *handshakeGate) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding {
		h.slots.release()
	}

	h.holding = false
	h.slots = nil
}

// Read reads from the connection; during a gated handshake it holds no turn while it waits.
func (c *guardedConn) Read(p []byte) (int, error) {
	slots := c.gate.pause()
	n, err := c.Conn.Read(p)
	if slots != nil && err == nil {
		err = c.gate.resume(slots)
	}

	return n, err
}

// gatedTLS returns conf whose handshakes take turns for the CPU: from the ClientHello (before the key exchange and
// the signature) until the connection is verified.
func (g *httpsGuard) gatedTLS(conf *tls.Config) *tls.Config {
	perConn := conf.Clone()
	verify := perConn.VerifyConnection
	gated := conf.Clone()
	gated.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		gc, ok := hello.Conn.(*guardedConn)
		if !ok {
			return nil, nil
		}

		err := gc.gate.begin(hello.Context(), g.handshake)
		if err != nil {
			return nil, err
		}

		// A clone per connection carries the hook that ends its gating; session tickets still use the keys of
		// the configuration the listener was given.
		c := perConn.Clone()
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			gc.gate.end()
			if verify != nil {
				return verify(cs)
			}

			return nil
		}

		return c, nil
	}

	return gated
}
