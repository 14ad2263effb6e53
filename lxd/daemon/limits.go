package daemon

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/response"
)

// httpLimits bounds what callers whose TLS client certificate is not trusted can hold on the HTTPS listener, so
// that strangers can never take the API down. Trusted callers keep the plain server limits (header and idle
// timeouts); the unix socket is served apart and is not limited at all.
type httpLimits struct {
	// HeaderTimeout bounds the TLS handshake and the reading of each request's headers, for every caller.
	HeaderTimeout time.Duration

	// IdleTimeout closes a trusted keep-alive connection that sends no request for that long.
	IdleTimeout time.Duration

	// UntrustedIdleTimeout closes an untrusted keep-alive connection that sends no request for that long.
	UntrustedIdleTimeout time.Duration

	// BodyTimeout is the longest an untrusted request body may go without sending a byte: the deadline moves on
	// with every read that makes progress, so a slow but moving upload goes through.
	BodyTimeout time.Duration

	// WriteTimeout is the longest one write of a response to an untrusted caller may block on a client that does
	// not read.
	WriteTimeout time.Duration

	// MaxUntrustedConns caps the connections not (yet) known to come from a trusted certificate: a connection counts
	// from accept until its first request shows a trusted certificate, or until it closes. Connections beyond the
	// cap are closed at once.
	MaxUntrustedConns int

	// MaxUntrustedConnsPerAddr is the same cap for one client address (one /64 for IPv6).
	MaxUntrustedConnsPerAddr int

	// MaxUntrustedBody is the largest request body an untrusted caller may send, except an image pushed with a
	// valid upload secret.
	MaxUntrustedBody int64

	// JoinBurst is how many trust-password or join-token attempts an address may make at once, and JoinInterval
	// the time it takes to earn one more (a token bucket).
	JoinBurst    int
	JoinInterval time.Duration

	// JoinAddrs caps the number of addresses whose attempts are tracked; the least recently seen goes first.
	JoinAddrs int

	// HashSlots is how many join attempts (PBKDF2 of the trust password) run at once, below the core count so that
	// hashing never takes every core; HashWait is how long an attempt waits for a slot before it is refused.
	HashSlots int
	HashWait  time.Duration

	// HandshakeSlots is how many TLS handshakes do their cryptography at once (a handshake waiting for its client
	// holds no slot), so that a flood of handshakes never takes every core either.
	HandshakeSlots int
}

// defaultHTTPLimits are the limits of a running daemon.
func defaultHTTPLimits() httpLimits {
	return httpLimits{
		HeaderTimeout:            10 * time.Second,
		IdleTimeout:              2 * time.Minute,
		UntrustedIdleTimeout:     15 * time.Second,
		BodyTimeout:              15 * time.Second,
		WriteTimeout:             30 * time.Second,
		MaxUntrustedConns:        512,
		MaxUntrustedConnsPerAddr: 64,
		MaxUntrustedBody:         1 << 20,
		JoinBurst:                10,
		JoinInterval:             6 * time.Second,
		JoinAddrs:                4096,
		HashSlots:                max(1, runtime.NumCPU()/2),
		HashWait:                 10 * time.Second,
		HandshakeSlots:           max(1, runtime.NumCPU()/2),
	}
}

// httpsGuard enforces httpLimits on the HTTPS listeners of a daemon. Its counters outlive a change of address.
type httpsGuard struct {
	limits httpLimits

	// trusted tells whether a TLS connection's client certificate is in the trust store.
	trusted func(cs *tls.ConnectionState) bool

	// uploadSecret tells whether secret is the secret of a running token operation (an image upload token), which
	// lets an untrusted caller push an image bigger than MaxUntrustedBody.
	uploadSecret func(secret string) bool

	conns     *connLimiter
	joins     *joinLimiter
	hashSlots chan struct{}
	handshake *cpuSlots
}

func newHTTPSGuard(limits httpLimits, trusted func(cs *tls.ConnectionState) bool, uploadSecret func(string) bool) *httpsGuard {
	return &httpsGuard{
		limits:       limits,
		trusted:      trusted,
		uploadSecret: uploadSecret,
		conns:        newConnLimiter(limits.MaxUntrustedConns, limits.MaxUntrustedConnsPerAddr),
		joins:        newJoinLimiter(limits.JoinBurst, limits.JoinInterval, limits.JoinAddrs),
		hashSlots:    make(chan struct{}, max(1, limits.HashSlots)),
		handshake:    newCPUSlots(limits.HandshakeSlots, limits.HeaderTimeout),
	}
}

// server returns an HTTPS server of handler with the guard's timeouts, hooks and handler wrapper; serve it with
// serve.
func (g *httpsGuard) server(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           g.wrap(handler),
		ReadHeaderTimeout: g.limits.HeaderTimeout,
		IdleTimeout:       g.limits.IdleTimeout,
		ConnState:         g.connState,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
}

// serve serves srv on the TCP listener l: connections are counted (and refused beyond the caps) before the TLS
// handshake, and handshakes take turns for the CPU.
func (g *httpsGuard) serve(srv *http.Server, l net.Listener, conf *tls.Config) error {
	return srv.Serve(tls.NewListener(&guardedListener{Listener: l, g: g}, g.gatedTLS(conf)))
}

// guardedListener counts every accepted connection as untrusted until it shows otherwise.
type guardedListener struct {
	net.Listener
	g *httpsGuard
}

// Accept returns the next connection that fits within the caps; the others are closed at once.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}

		key := addrKey(c.RemoteAddr().String())
		if !l.g.conns.acquire(key) {
			_ = c.Close()
			l.g.conns.logRefusal(key)
			continue
		}

		return &guardedConn{Conn: c, key: key, conns: l.g.conns}, nil
	}
}

// guardedConn is a connection holding an untrusted slot until release.
type guardedConn struct {
	net.Conn
	key   string
	conns *connLimiter

	releaseOnce sync.Once

	// gate holds a handshake's turn for the CPU while it computes, never while it waits for its client.
	gate handshakeGate

	mu        sync.Mutex
	trusted   bool
	idle      bool
	idleTimer *time.Timer
}

// release gives the untrusted slot back, once.
func (c *guardedConn) release() {
	c.releaseOnce.Do(func() { c.conns.release(c.key) })
}

// Close closes the connection and frees its slot.
func (c *guardedConn) Close() error {
	c.release()
	c.gate.end()
	c.mu.Lock()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}

	c.mu.Unlock()
	return c.Conn.Close()
}

// connState follows each connection: the first request that shows a trusted certificate frees the connection's
// untrusted slot, and an untrusted connection idle for UntrustedIdleTimeout is closed.
func (g *httpsGuard) connState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}

	gc, ok := tc.NetConn().(*guardedConn)
	if !ok {
		return
	}

	switch state {
	case http.StateActive:
		gc.mu.Lock()
		gc.idle = false
		if gc.idleTimer != nil {
			gc.idleTimer.Stop()
		}

		known := gc.trusted
		gc.mu.Unlock()
		if known {
			return
		}

		cs := tc.ConnectionState()
		if g.trusted(&cs) {
			gc.mu.Lock()
			gc.trusted = true
			gc.mu.Unlock()
			gc.release()
		}

	case http.StateIdle:
		gc.mu.Lock()
		defer gc.mu.Unlock()
		if gc.trusted || g.limits.UntrustedIdleTimeout <= 0 {
			return
		}

		gc.idle = true
		if gc.idleTimer == nil {
			gc.idleTimer = time.AfterFunc(g.limits.UntrustedIdleTimeout, func() {
				gc.mu.Lock()
				idle := gc.idle
				gc.mu.Unlock()
				if idle {
					_ = c.Close()
				}
			})
		} else {
			gc.idleTimer.Reset(g.limits.UntrustedIdleTimeout)
		}
	}
}

const (
	certificatesPath = "/1.0/certificates"
	imagesPath       = "/1.0/images"
)

// isPath reports whether r is for p, however the path is spelled (the router matches the escaped path).
func isPath(r *http.Request, p string) bool {
	return r.URL.EscapedPath() == p || path.Clean(r.URL.Path) == p
}

// wrap applies the limits of untrusted callers to each request that comes without a trusted certificate.
func (g *httpsGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.TLS == nil || g.trusted(r.TLS) {
			// A connection that became trusted keeps no deadline of its untrusted requests.
			_ = rc.SetWriteDeadline(time.Time{})
			next.ServeHTTP(w, r)
			return
		}

		g.serveUntrusted(w, r, rc, next)
	})
}

func (g *httpsGuard) serveUntrusted(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, next http.Handler) {
	var body *deadlineBody
	if r.Body != nil && r.Body != http.NoBody {
		// Handlers refuse most untrusted requests without reading their body, and their answer (403, 404) is the one
		// LXD gives: an oversized body is cut where it is read, not refused up front.
		exempt := r.Method == http.MethodPost && isPath(r, imagesPath) && g.uploadSecret(r.Header.Get("X-LXD-secret"))
		body = newDeadlineBody(r.Body, rc, g.limits.BodyTimeout)
		r.Body = body
		if !exempt {
			// w itself (not the wrapper below): on overflow the server closes the connection after the reply.
			r.Body = http.MaxBytesReader(w, body, g.limits.MaxUntrustedBody)
		}
	}

	uw := &untrustedWriter{ResponseWriter: w, rc: rc, body: body, timeout: g.limits.WriteTimeout}
	_ = rc.SetWriteDeadline(time.Now().Add(g.limits.WriteTimeout))
	if r.Method == http.MethodPost && isPath(r, certificatesPath) {
		g.serveJoin(uw, r, next)
	} else {
		next.ServeHTTP(uw, r)
	}

	// The server flushes the end of the response after the handler, however long the handler took; a hijacked
	// connection (a websocket) is its new owner's.
	if !uw.hijacked {
		_ = rc.SetWriteDeadline(time.Now().Add(g.limits.WriteTimeout))
	}
}

// serveJoin serves an untrusted POST /1.0/certificates, the only place the trust password or a join token is
// checked: within the address's budget of attempts, with its body read in full first, and with a hashing slot so
// that PBKDF2 runs on a bounded number of cores.
func (g *httpsGuard) serveJoin(w *untrustedWriter, r *http.Request, next http.Handler) {
	if r.ContentLength > g.limits.MaxUntrustedBody {
		refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", g.limits.MaxUntrustedBody))
		return
	}

	addr := addrKey(r.RemoteAddr)
	wait, ok := g.joins.allow(addr, time.Now())
	if !ok {
		g.joins.logRefusal(addr)
		// A small body is read (within the body timeout) so that the connection stays usable: refusing over a
		// keep-alive connection costs less than a new TLS handshake.
		if r.ContentLength >= 0 && r.ContentLength <= 64<<10 {
			_, _ = io.Copy(io.Discard, r.Body)
		}

		refuse(w, r, http.StatusForbidden, fmt.Sprintf("not authorized: too many attempts from %s, retry in %s", addr,
			(wait+time.Second-1).Truncate(time.Second)))
		return
	}

	// The slot is taken only once the whole body is here: a stalled client holds no slot.
	data, err := io.ReadAll(r.Body)
	if err != nil {
		w.Header().Set("Connection", "close")
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxErr.Limit))
			return
		}

		refuse(w, r, http.StatusBadRequest, "cannot read the request body")
		return
	}

	r.Body = io.NopCloser(bytes.NewReader(data))
	timer := time.NewTimer(g.limits.HashWait)
	defer timer.Stop()
	select {
	case g.hashSlots <- struct{}{}:
	case <-timer.C:
		refuse(w, r, http.StatusForbidden, "not authorized: too many attempts in progress, retry later")
		return
	case <-r.Context().Done():
		return
	}

	defer func() { <-g.hashSlots }()
	next.ServeHTTP(w, r)
}

// refuse answers with an API error envelope.
func refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	_ = response.ErrorResponse(code, msg).Render(w, r)
}

// deadlineBody reads a request body with a read deadline that moves on with every read making progress, and is
// lifted at the end of the body (the server's background read for a closed client must not time out).
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration

	mu   sync.Mutex
	last time.Time
	eof  bool
}

func newDeadlineBody(body io.ReadCloser, rc *http.ResponseController, timeout time.Duration) *deadlineBody {
	b := &deadlineBody{ReadCloser: body, rc: rc, timeout: timeout, last: time.Now()}
	_ = rc.SetReadDeadline(b.last.Add(timeout))
	return b
}

// Read reads on, moving the deadline when bytes came.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if errors.Is(err, io.EOF) {
		b.eof = true
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}

	// Moving a deadline costs a timer update: once per tenth of the timeout is enough.
	if n > 0 && err == nil {
		now := time.Now()
		if now.Sub(b.last) > b.timeout/10 {
			b.last = now
			_ = b.rc.SetReadDeadline(now.Add(b.timeout))
		}
	}

	return n, err
}

// done reports whether the whole body was read.
func (b *deadlineBody) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}

// untrustedWriter writes a response to an untrusted caller: each write may block at most its timeout, and a reply
// sent before the request body was read in full closes the connection (what is left of the body is not waited for).
type untrustedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	body    *deadlineBody
	timeout time.Duration

	wroteHeader bool
	hijacked    bool
}

// WriteHeader sends the status line and headers.
func (w *untrustedWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		if w.body != nil && !w.body.done() {
			w.Header().Set("Connection", "close")
		}
	}

	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	w.ResponseWriter.WriteHeader(code)
}

// Write writes response bytes within the write timeout.
func (w *untrustedWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}

	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}

// Flush sends buffered bytes within the write timeout.
func (w *untrustedWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}

	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	_ = w.rc.Flush()
}

// Hijack hands the connection over (websockets); their owner sets its own deadlines.
func (w *untrustedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.rc.Hijack()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *untrustedWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
