package daemon

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testLimits are short limits, so that the tests see them act within a second.
func testLimits() httpLimits {
	return httpLimits{
		HeaderTimeout:            2 * time.Second,
		IdleTimeout:              time.Minute,
		UntrustedIdleTimeout:     300 * time.Millisecond,
		BodyTimeout:              300 * time.Millisecond,
		WriteTimeout:             time.Second,
		MaxUntrustedConns:        8,
		MaxUntrustedConnsPerAddr: 8,
		MaxUntrustedBody:         1024,
		JoinBurst:                3,
		JoinInterval:             time.Hour,
		JoinAddrs:                16,
		HashSlots:                1,
		HashWait:                 5 * time.Second,
	}
}

// guardedServer is an HTTPS server behind a guard, on 127.0.0.1, with one trusted client certificate.
type guardedServer struct {
	addr    string
	guard   *httpsGuard
	trusted tls.Certificate // a client certificate in the trust store
	other   tls.Certificate // a client certificate that is not
}

const testSecret = "upload-secret"

func keyPair(t *testing.T, client bool) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GeneratePEM(client)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	return pair
}

// startGuarded serves handler with limits on a real TLS listener on 127.0.0.1:0.
func startGuarded(t *testing.T, limits httpLimits, handler http.Handler) *guardedServer {
	t.Helper()
	gs := &guardedServer{trusted: keyPair(t, true), other: keyPair(t, true)}
	trustedFP := tlsutil.FingerprintDER(gs.trusted.Certificate[0])
	isTrusted := func(cs *tls.ConnectionState) bool {
		return len(cs.PeerCertificates) > 0 && tlsutil.FingerprintDER(cs.PeerCertificates[0].Raw) == trustedFP
	}

	gs.guard = newHTTPSGuard(limits, isTrusted, func(s string) bool { return s == testSecret })
	serverPair := keyPair(t, false)
	conf := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{serverPair},
		ClientAuth: tls.RequestClientCert, NextProtos: []string{"http/1.1"}}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	gs.addr = l.Addr().String()
	srv := gs.guard.server(handler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.guard.serve(srv, l, conf)
	}()

	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})

	return gs
}

// client returns an HTTP client presenting cert (none when nil).
func (gs *guardedServer) client(cert *tls.Certificate) *http.Client {
	conf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}

	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
}

// dial opens a TLS connection presenting cert (none when nil), handshake done.
func (gs *guardedServer) dial(t *testing.T, cert *tls.Certificate) *tls.Conn {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}

	c, err := tls.Dial("tcp", gs.addr, conf)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin waits for the server to close c, reading (and dropping) whatever it sends.
func closedWithin(c net.Conn, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return time.Since(start), false
	}

	return time.Since(start), true
}

// echoBody answers with the length of the body it read.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, "read %d: %v", n, err)
		return
	}

	_, _ = fmt.Fprintf(w, "%d", n)
})

// stalledPost sends the headers of a POST announcing length bytes and a part of its body, then nothing.
func stalledPost(t *testing.T, c net.Conn, path string, length int) {
	t.Helper()
	_, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"password\":", path, length)
	if err != nil {
		t.Fatal(err)
	}
}

func TestUntrustedStalledBodyClosed(t *testing.T) {
	limits := testLimits()
	gs := startGuarded(t, limits, echoBody)

	for _, path := range []string{"/1.0/certificates", "/1.0/instances"} {
		t.Run(path, func(t *testing.T) {
			c := gs.dial(t, &gs.other)
			stalledPost(t, c, path, 500)
			took, closed := closedWithin(c, 5*time.Second)
			if !closed {
				t.Fatalf("got connection open after %v, want it closed", took)
			}

			if took > limits.BodyTimeout+time.Second {
				t.Fatalf("got connection closed after %v, want about %v", took, limits.BodyTimeout)
			}
		})
	}
}

func TestUntrustedBodyTooLarge(t *testing.T) {
	limits := testLimits()
	gs := startGuarded(t, limits, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1.0/refused" {
			// As the router does for an untrusted caller: refused without reading the body.
			w.WriteHeader(http.StatusForbidden)
			return
		}

		echoBody(w, r)
	}))

	// Announced too large: a trust attempt is refused at once, and a request the handler refuses without reading
	// gets the handler's answer; either way the connection closes without waiting for the body.
	for path, want := range map[string]int{"/1.0/certificates": http.StatusRequestEntityTooLarge, "/1.0/refused": http.StatusForbidden} {
		c := gs.dial(t, nil)
		stalledPost(t, c, path, 100000000)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}

		if resp.StatusCode != want {
			t.Fatalf("%s: got %d, want %d", path, resp.StatusCode, want)
		}

		took, closed := closedWithin(c, 2*time.Second)
		if !closed || took > time.Second {
			t.Fatalf("%s: got closed %v after %v, want closed at once", path, closed, took)
		}
	}

	// Chunked, so not announced: cut at the limit.
	resp, err := gs.client(nil).Post("https://"+gs.addr+"/1.0/instances", "application/octet-stream",
		io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))))
	if err != nil {
		t.Fatal(err)
	}

	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "too large") {
		t.Fatalf("got %d %q, want the handler to see the body cut", resp.StatusCode, body)
	}
}

// slowBody yields n bytes in chunks, pausing between them.
type slowBody struct {
	left  int
	chunk int
	pause time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}

	time.Sleep(b.pause)
	n := min(len(p), b.chunk, b.left)
	for i := range n {
		p[i] = 'x'
	}

	b.left -= n
	return n, nil
}

func TestSlowUploads(t *testing.T) {
	limits := testLimits()
	gs := startGuarded(t, limits, echoBody)

	cases := []struct {
		name   string
		cert   *tls.Certificate
		path   string
		secret string
		body   io.Reader
		length int64
		want   int
	}{
		// A pushed image with its upload secret: bigger than the limit, slower than the body timeout in all, but
		// never stalled for that long.
		{"push with secret", &gs.other, "/1.0/images", testSecret, &slowBody{left: 8000, chunk: 1000, pause: 100 * time.Millisecond}, 8000, 200},
		// Without a valid secret the body is cut at the limit where the handler reads it (echoBody answers 400).
		{"push with a wrong secret", &gs.other, "/1.0/images", "nope", strings.NewReader(strings.Repeat("x", 8000)), 8000, 400},
		{"push elsewhere with the secret", &gs.other, "/1.0/instances", testSecret, strings.NewReader(strings.Repeat("x", 8000)), 8000, 400},
		// A trusted client keeps today's limits: no size cap, and pauses longer than the untrusted body timeout.
		{"trusted", &gs.trusted, "/1.0/instances", "", &slowBody{left: 8000, chunk: 4000, pause: 600 * time.Millisecond}, 8000, 200},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "https://"+gs.addr+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}

			req.ContentLength = tc.length
			if tc.secret != "" {
				req.Header.Set("X-LXD-secret", tc.secret)
			}

			resp, err := gs.client(tc.cert).Do(req)
			if err != nil {
				t.Fatal(err)
			}

			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.want)
			}

			if tc.want == 200 && string(body) != fmt.Sprint(tc.length) {
				t.Fatalf("got %q, want %d bytes read", body, tc.length)
			}
		})
	}
}

func TestUntrustedConnectionCap(t *testing.T) {
	limits := testLimits()
	limits.HeaderTimeout = 5 * time.Second
	gs := startGuarded(t, limits, echoBody)

	// Fill the cap with connections that never even start the TLS handshake.
	conns := []net.Conn{}
	for range limits.MaxUntrustedConns {
		c, err := net.Dial("tcp", gs.addr)
		if err != nil {
			t.Fatal(err)
		}

		conns = append(conns, c)
		t.Cleanup(func() { _ = c.Close() })
	}

	waitFor(t, func() bool { return gs.guard.conns.open() == limits.MaxUntrustedConns }, "the cap to fill")

	// One more is closed at once.
	extra, err := net.Dial("tcp", gs.addr)
	if err != nil {
		t.Fatal(err)
	}

	took, closed := closedWithin(extra, 2*time.Second)
	if !closed || took > time.Second {
		t.Fatalf("got closed %v after %v, want the connection beyond the cap closed at once", closed, took)
	}

	// Freeing one slot lets a trusted client in, whose connection then gives its slot back.
	_ = conns[0].Close()
	waitFor(t, func() bool { return gs.guard.conns.open() == limits.MaxUntrustedConns-1 }, "a slot to free")
	client := gs.client(&gs.trusted)
	resp, err := client.Post("https://"+gs.addr+"/1.0", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}

	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	waitFor(t, func() bool { return gs.guard.conns.open() == limits.MaxUntrustedConns-1 }, "the trusted connection to free its slot")

	// Its idle keep-alive connection is still usable: the cap holds untrusted connections only.
	resp, err = client.Get("https://" + gs.addr + "/1.0")
	if err != nil {
		t.Fatal(err)
	}

	_ = resp.Body.Close()
}

func TestHeaderTimeout(t *testing.T) {
	limits := testLimits()
	limits.HeaderTimeout = 500 * time.Millisecond
	gs := startGuarded(t, limits, echoBody)

	// No TLS handshake at all.
	raw, err := net.Dial("tcp", gs.addr)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = raw.Close() }()
	took, closed := closedWithin(raw, 5*time.Second)
	if !closed || took > limits.HeaderTimeout+time.Second {
		t.Fatalf("got closed %v after %v, want closed after about %v", closed, took, limits.HeaderTimeout)
	}

	// A handshake and half a request line.
	c := gs.dial(t, nil)
	_, err = io.WriteString(c, "GET /1.0 HTTP/1.1\r\nHost:")
	if err != nil {
		t.Fatal(err)
	}

	took, closed = closedWithin(c, 5*time.Second)
	if !closed || took > limits.HeaderTimeout+time.Second {
		t.Fatalf("got closed %v after %v, want closed after about %v", closed, took, limits.HeaderTimeout)
	}

	waitFor(t, func() bool { return gs.guard.conns.open() == 0 }, "the slots to free")
}

func TestUntrustedIdleTimeout(t *testing.T) {
	limits := testLimits()
	gs := startGuarded(t, limits, echoBody)

	get := func(c *tls.Conn) {
		t.Helper()
		_, err := io.WriteString(c, "GET /1.0 HTTP/1.1\r\nHost: x\r\n\r\n")
		if err != nil {
			t.Fatal(err)
		}

		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}

		_, _ = io.Copy(io.Discard, resp.Body)
	}

	untrusted := gs.dial(t, &gs.other)
	trusted := gs.dial(t, &gs.trusted)
	get(untrusted)
	get(trusted)

	took, closed := closedWithin(untrusted, 3*time.Second)
	if !closed || took > limits.UntrustedIdleTimeout+time.Second {
		t.Fatalf("got closed %v after %v, want the idle untrusted connection closed after about %v", closed, took,
			limits.UntrustedIdleTimeout)
	}

	// The trusted one is still open and answers.
	get(trusted)
}

func TestJoinRateLimit(t *testing.T) {
	limits := testLimits()
	var reached atomic.Int32
	gs := startGuarded(t, limits, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusForbidden)
	}))

	client := gs.client(&gs.other)
	for i := range limits.JoinBurst + 3 {
		resp, err := client.Post("https://"+gs.addr+"/1.0/certificates", "application/json",
			strings.NewReader(`{"password":"guess"}`))
		if err != nil {
			t.Fatal(err)
		}

		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("attempt %d: got %d, want 403", i, resp.StatusCode)
		}

		if i >= limits.JoinBurst && !strings.Contains(string(body), "too many attempts") {
			t.Fatalf("attempt %d: got %q, want a refusal for too many attempts", i, body)
		}
	}

	got := int(reached.Load())
	if got != limits.JoinBurst {
		t.Fatalf("got %d attempts handled, want %d", got, limits.JoinBurst)
	}

	// Trusted callers are not counted: they never check a password.
	resp, err := gs.client(&gs.trusted).Post("https://"+gs.addr+"/1.0/certificates", "application/json",
		strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}

	_ = resp.Body.Close()
	got = int(reached.Load())
	if got != limits.JoinBurst+1 {
		t.Fatalf("got %d requests handled, want the trusted one handled too", got)
	}
}

func TestJoinHashingBounded(t *testing.T) {
	limits := testLimits()
	limits.JoinBurst = 100
	limits.HashSlots = 2
	limits.MaxUntrustedConns = 64
	limits.MaxUntrustedConnsPerAddr = 64
	// Ten handshakes at once under the race detector take a while.
	limits.HeaderTimeout = 5 * time.Second
	var running, most atomic.Int32
	gs := startGuarded(t, limits, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}

		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusForbidden)
	}))

	// A stalled body must not hold a slot.
	stalled := gs.dial(t, nil)
	stalledPost(t, stalled, "/1.0/certificates", 500)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, err := gs.client(nil).Post("https://"+gs.addr+"/1.0/certificates", "application/json",
				bytes.NewReader([]byte(`{"password":"guess"}`)))
			if err != nil {
				t.Error(err)
				return
			}

			_ = resp.Body.Close()
		})
	}

	wg.Wait()
	got := int(most.Load())
	if got < 1 || got > limits.HashSlots {
		t.Fatalf("got %d attempts at once, want 1 to %d", got, limits.HashSlots)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}

		time.Sleep(50 * time.Millisecond)
	}

	t.Fatalf("timed out waiting for %s", what)
}

// stallReads is a client connection that sends but never reads: its TLS handshake stops after the ClientHello.
type stallReads struct {
	net.Conn
	done chan struct{}
}

func (c stallReads) Read(p []byte) (int, error) {
	<-c.done
	return 0, io.EOF
}

func TestHandshakeTurns(t *testing.T) {
	limits := testLimits()
	limits.HeaderTimeout = 5 * time.Second
	limits.HandshakeSlots = 1
	gs := startGuarded(t, limits, echoBody)

	// Handshakes stalled after their ClientHello hold no turn: a real client gets through at once.
	done := make(chan struct{})
	defer close(done)
	for range 4 {
		raw, err := net.Dial("tcp", gs.addr)
		if err != nil {
			t.Fatal(err)
		}

		t.Cleanup(func() { _ = raw.Close() })
		tc := tls.Client(stallReads{Conn: raw, done: done}, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		go func() { _ = tc.Handshake() }()
	}

	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	resp, err := gs.client(&gs.trusted).Get("https://" + gs.addr + "/1.0")
	if err != nil {
		t.Fatal(err)
	}

	_ = resp.Body.Close()
	took := time.Since(start)
	if took > 2*time.Second {
		t.Fatalf("got a handshake after %v behind stalled ones, want at once", took)
	}

	waitFor(t, func() bool { return len(gs.guard.handshake.ch) == 0 }, "the turns to be free")
}
