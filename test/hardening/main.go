// Command hardening plays hostile HTTPS clients against a daemon on loopback and measures the local API meanwhile,
// for test/suites/hardening_http.sh. Every mode stops by itself.
//
// Usage:
//
//	hardening stall -addr HOST:PORT [-n 400] [-sources 40] [-first 127.0.2.1] [-length 100000] [-hold 70s]
//	    opens n TLS connections (from -first upwards, n/sources per source address), sends the headers of a
//	    POST /1.0/certificates announcing length bytes and a part of the body, then nothing; prints how many the
//	    server answered or closed and when, and exits once all are closed or after hold.
//	hardening guess -addr HOST:PORT [-clients 40] [-first 127.0.1.1] [-same] [-duration 10s]
//	    runs clients password guessers, each from its own source address (all from the first with -same) and
//	    with its own client certificate, on keep-alive connections; prints the answers by status.
//	hardening latency -socket PATH [-duration 10s] [-interval 20ms]
//	    times GET /1.0 on the unix socket; prints n, p50, p90 and max in milliseconds.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hardening stall|guess|latency [flags]")
		os.Exit(2)
	}

	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "HTTPS address of the daemon (loopback)")
	socket := fs.String("socket", "", "unix socket of the daemon")
	n := fs.Int("n", 400, "stall: connections")
	sources := fs.Int("sources", 40, "stall: source addresses")
	length := fs.Int("length", 100000, "stall: announced body length")
	hold := fs.Duration("hold", 70*time.Second, "stall: longest wait for the server to close them")
	clients := fs.Int("clients", 40, "guess: concurrent guessers")
	first := fs.String("first", "", "guess, stall: first source address (default 127.0.1.1, stall 127.0.2.1)")
	same := fs.Bool("same", false, "guess: every guesser from the first source address")
	duration := fs.Duration("duration", 10*time.Second, "guess, latency: how long")
	interval := fs.Duration("interval", 20*time.Millisecond, "latency: pause between requests")
	_ = fs.Parse(os.Args[2:])

	var err error
	switch os.Args[1] {
	case "stall":
		err = stall(*addr, *n, *sources, cmp.Or(*first, "127.0.2.1"), *length, *hold)
	case "guess":
		err = guess(*addr, *clients, cmp.Or(*first, "127.0.1.1"), *same, *duration)
	case "latency":
		err = latency(*socket, *duration, *interval)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}

	if err != nil {
		fmt.Fprintln(os.Stderr, "hardening:", err)
		os.Exit(1)
	}
}

// loopback refuses anything but a loopback target.
func loopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}

	return nil
}

// source returns the i-th address from first.
func source(first netip.Addr, i int) netip.Addr {
	a := first
	for range i {
		a = a.Next()
	}

	return a
}

func tlsConfig() *tls.Config {
	// The daemon's certificate is self-signed; the target is loopback only.
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
}

func stall(addr string, n int, sources int, firstSource string, length int, hold time.Duration) error {
	err := loopback(addr)
	if err != nil {
		return err
	}

	first, err := netip.ParseAddr(firstSource)
	if err != nil || !first.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", firstSource)
	}

	start := time.Now()
	var opened, failed atomic.Int32
	var mu sync.Mutex
	closedAt := []time.Duration{}
	var wg sync.WaitGroup
	for i := range n {
		src := source(first, i%max(1, sources))
		wg.Go(func() {
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
			c, err := tls.DialWithDialer(d, "tcp", addr, tlsConfig())
			if err != nil {
				failed.Add(1)
				return
			}

			defer func() { _ = c.Close() }()
			_, err = fmt.Fprintf(c, "POST /1.0/certificates HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"Content-Length: %d\r\n\r\n{\"type\":\"client\",\"password\":\"", addr, length)
			if err != nil {
				failed.Add(1)
				return
			}

			opened.Add(1)
			_ = c.SetReadDeadline(start.Add(hold))
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Still open when the hold ended.
				return
			}

			mu.Lock()
			closedAt = append(closedAt, time.Since(start))
			mu.Unlock()
		})
	}

	wg.Wait()
	sort.Slice(closedAt, func(i, j int) bool { return closedAt[i] < closedAt[j] })
	fmt.Printf("opened %d failed %d closed_by_server %d", opened.Load(), failed.Load(), len(closedAt))
	if len(closedAt) > 0 {
		fmt.Printf(" first_close %.1fs last_close %.1fs", closedAt[0].Seconds(), closedAt[len(closedAt)-1].Seconds())
	}

	fmt.Println()
	return nil
}

// clientCert makes a throwaway self-signed client certificate.
func clientCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "guesser"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}

	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func guess(addr string, clients int, firstSource string, same bool, duration time.Duration) error {
	err := loopback(addr)
	if err != nil {
		return err
	}

	first, err := netip.ParseAddr(firstSource)
	if err != nil || !first.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", firstSource)
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	byStatus := map[string]int{}
	count := func(k string) {
		mu.Lock()
		byStatus[k]++
		mu.Unlock()
	}

	var wg sync.WaitGroup
	for i := range clients {
		cert, err := clientCert()
		if err != nil {
			return err
		}

		conf := tlsConfig()
		conf.Certificates = []tls.Certificate{cert}
		src := source(first, i)
		if same {
			src = first
		}

		dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, DialContext: dialer.DialContext}}
		wg.Go(func() {
			for attempt := 0; ctx.Err() == nil; attempt++ {
				body := fmt.Sprintf(`{"type":"client","password":"guess-%d-%d"}`, i, attempt)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/1.0/certificates",
					bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						count("error")
						time.Sleep(10 * time.Millisecond)
					}

					continue
				}

				data, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				key := fmt.Sprint(resp.StatusCode)
				if strings.Contains(string(data), "too many") {
					key += "-limited"
				}

				count(key)
			}
		})
	}

	wg.Wait()
	keys := []string{}
	for k := range byStatus {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s %d\n", k, byStatus[k])
	}

	return nil
}

func latency(socket string, duration time.Duration, interval time.Duration) error {
	tr := &http.Transport{DialContext: func(ctx context.Context, _ string, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}

	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	times := []time.Duration{}
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		start := time.Now()
		resp, err := hc.Get("http://lxd/1.0")
		if err != nil {
			return err
		}

		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /1.0: %s", resp.Status)
		}

		times = append(times, time.Since(start))
		time.Sleep(interval)
	}

	if len(times) == 0 {
		return fmt.Errorf("no request made")
	}

	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("n %d p50 %.1f p90 %.1f max %.1f\n", len(times), ms(times[len(times)/2]), ms(times[len(times)*9/10]),
		ms(times[len(times)-1]))
	return nil
}
