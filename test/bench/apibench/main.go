// Command apibench sends a bounded number of GET requests to a REST API over a unix socket or HTTPS and prints the
// rate and latency percentiles, for the benchmark script. It only ever talks to the address it is given, which the
// benchmark points at daemons on this machine.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	socket := flag.String("socket", "", "unix socket of the daemon")
	path := flag.String("path", "/1.0", "request path")
	n := flag.Int("n", 200, "number of requests")
	c := flag.Int("c", 4, "concurrent clients")
	flag.Parse()

	if *socket == "" || *n < 1 || *c < 1 {
		fmt.Fprintln(os.Stderr, "usage: apibench -socket PATH [-path /1.0/images?recursion=1] [-n 200] [-c 4]")
		os.Exit(2)
	}

	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *socket)
		},
		MaxIdleConnsPerHost: *c,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS13},
	}

	client := &http.Client{Transport: transport, Timeout: time.Minute}
	latencies := make([]time.Duration, *n)
	var next int
	var mu sync.Mutex
	var errors int
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= *n {
					return
				}

				t0 := time.Now()
				resp, err := client.Get("http://lxd" + *path)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}

				latencies[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					errors++
					mu.Unlock()
				}
			}
		}()
	}

	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	p := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}

	fmt.Printf("%.1f %.2f %.2f %d\n", float64(*n)/elapsed.Seconds(), p(0.5), p(0.99), errors)
}
