// Command load drives many concurrent API clients against one daemon for a fixed time, mixing reads and writes,
// and reports the requests, errors and latency percentiles of each kind of request. It exits non-zero when any
// request fails: a transport error, an unexpected status or an operation that does not succeed.
//
// Usage:
//
//	load -socket DIR/unix.socket -image FINGERPRINT [-clients 100] [-duration 30s] [-writes 20]
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.socket, "socket", "", "unix socket of the daemon")
	flag.StringVar(&cfg.httpsAddr, "https", "", "also drive the daemon over HTTPS at this address (host:port)")
	flag.StringVar(&cfg.cert, "cert", "", "trusted client certificate (PEM) for -https")
	flag.StringVar(&cfg.key, "key", "", "key of the client certificate (PEM) for -https")
	flag.StringVar(&cfg.image, "image", "", "fingerprint of a local image to read, edit, alias and create instances from")
	flag.IntVar(&cfg.clients, "clients", 100, "number of concurrent clients")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to run")
	flag.IntVar(&cfg.writes, "writes", 20, "percentage of write actions")
	flag.IntVar(&cfg.instances, "instances", 4, "at most this many instance creations in flight")
	flag.BoolVar(&cfg.lostEditsOK, "lost-edits-ok", false, "report accepted image edits that were lost without failing")
	flag.Parse()

	if cfg.socket == "" || cfg.image == "" {
		fmt.Fprintln(os.Stderr, "load: -socket and -image are required")
		os.Exit(2)
	}

	res, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}

	res.print(os.Stdout)
	if cfg.lostEditsOK {
		res.lostEdits = nil
	}

	if res.failed() {
		os.Exit(1)
	}
}

// config is what one run does.
type config struct {
	socket    string
	httpsAddr string
	cert      string
	key       string
	image     string
	clients   int
	duration  time.Duration
	writes    int
	instances int

	lostEditsOK bool
}

// target is one way to reach the daemon.
type target struct {
	name string
	base string
	hc   *http.Client
}

func unixTarget(socket string) target {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _ string, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 200,
	}

	return target{name: "unix", base: "http://lxd", hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func httpsTarget(addr string, certFile string, keyFile string) (target, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return target{}, fmt.Errorf("loading the client certificate: %w", err)
	}

	tr := &http.Transport{
		// The daemon's certificate is self-signed; the test reaches it on loopback only.
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 200,
	}

	return target{name: "https", base: "https://" + addr, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

// envelope is the part of a response body the load test checks.
type envelope struct {
	Type      string          `json:"type"`
	Operation string          `json:"operation"`
	ErrorCode int             `json:"error_code"`
	Error     string          `json:"error"`
	Metadata  json.RawMessage `json:"metadata"`
}

// stats are the outcomes of one kind of request.
type stats struct {
	count     int
	errors    int
	latencies []time.Duration
	samples   []string
}

// results gathers the stats of every kind; safe for concurrent use.
type results struct {
	mu      sync.Mutex
	kinds   map[string]*stats
	elapsed time.Duration

	// conflicts counts the conditional PATCHes refused with 412 because another client edited first.
	conflicts int

	// edits counts the clients with an accepted PATCH; lostEdits describes those whose last accepted value is gone.
	edits     int
	lostEdits []string
}

func (r *results) record(kind string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.kinds[kind]
	if !ok {
		s = &stats{}
		r.kinds[kind] = s
	}

	s.count++
	s.latencies = append(s.latencies, d)
	if err != nil {
		s.errors++
		if len(s.samples) < 3 {
			s.samples = append(s.samples, err.Error())
		}
	}
}

func (r *results) failed() bool {
	if len(r.lostEdits) > 0 {
		return true
	}

	for _, s := range r.kinds {
		if s.errors > 0 {
			return true
		}
	}

	return false
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}

	i := int(float64(len(sorted))*p/100+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func (r *results) print(w io.Writer) {
	names := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		names = append(names, k)
	}

	sort.Strings(names)
	var all []time.Duration
	total, errs := 0, 0
	fmt.Fprintf(w, "%-28s %8s %7s %9s %9s %9s\n", "kind", "requests", "errors", "p50", "p95", "p99")
	for _, k := range names {
		s := r.kinds[k]
		sort.Slice(s.latencies, func(i, j int) bool { return s.latencies[i] < s.latencies[j] })
		all = append(all, s.latencies...)
		total += s.count
		errs += s.errors
		fmt.Fprintf(w, "%-28s %8d %7d %9s %9s %9s\n", k, s.count, s.errors, ms(percentile(s.latencies, 50)),
			ms(percentile(s.latencies, 95)), ms(percentile(s.latencies, 99)))
		for _, e := range s.samples {
			fmt.Fprintf(w, "    error: %s\n", e)
		}
	}

	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Fprintf(w, "%-28s %8d %7d %9s %9s %9s\n", "all", total, errs, ms(percentile(all, 50)),
		ms(percentile(all, 95)), ms(percentile(all, 99)))
	fmt.Fprintf(w, "throughput: %.0f requests/s over %s\n", float64(total)/r.elapsed.Seconds(), r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "conditional PATCH refused with 412: %d\n", r.conflicts)
	fmt.Fprintf(w, "accepted image edits kept: %d of %d\n", r.edits-len(r.lostEdits), r.edits)
	for i, e := range r.lostEdits {
		if i == 5 {
			fmt.Fprintf(w, "    ... %d more\n", len(r.lostEdits)-5)
			break
		}

		fmt.Fprintf(w, "    lost edit: %s\n", e)
	}

	fmt.Fprintf(w, "p99: %s\n", ms(percentile(all, 99)))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// client is one simulated API client.
type client struct {
	id      int
	t       target
	cfg     config
	res     *results
	rng     *rand.Rand
	seq     int
	instSem chan struct{}

	// lastProp is the value of this client's image property in its last accepted PATCH.
	lastProp string
}

// reply is what the load test keeps of one response.
type reply struct {
	env    *envelope
	status int
	etag   string
}

// do sends one request, with If-Match when ifMatch is set, and checks that the status is one of want and the body
// an envelope of the matching type.
func (c *client) do(kind string, method string, path string, body any, ifMatch string, want ...int) (reply, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}

		rd = bytes.NewReader(data)
	}

	start := time.Now()
	rep, err := c.send(method, path, rd, ifMatch, want)
	c.res.record(kind+"/"+c.t.name, time.Since(start), err)
	return rep, err
}

func (c *client) send(method string, path string, body io.Reader, ifMatch string, want []int) (reply, error) {
	req, err := http.NewRequest(method, c.t.base+path, body)
	if err != nil {
		return reply{}, err
	}

	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}

	resp, err := c.t.hc.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}

	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}

	rep := reply{env: &envelope{}, status: resp.StatusCode, etag: resp.Header.Get("ETag")}
	err = json.Unmarshal(data, rep.env)
	if err != nil {
		return rep, fmt.Errorf("%s %s: status %d, body is not JSON: %q", method, path, resp.StatusCode, trim(data))
	}

	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}

	if !ok {
		return rep, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, rep.env.Error)
	}

	wantType := "sync"
	switch {
	case resp.StatusCode == http.StatusAccepted:
		wantType = "async"
	case resp.StatusCode >= 400:
		wantType = "error"
	}

	if rep.env.Type != wantType {
		return rep, fmt.Errorf("%s %s: envelope type %q, want %q", method, path, rep.env.Type, wantType)
	}

	return rep, nil
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}

	return string(b)
}

// wait waits for an operation to end and checks that it succeeded.
func (c *client) wait(kind string, rep reply) error {
	if rep.env.Operation == "" {
		return fmt.Errorf("%s: no operation in the async response", kind)
	}

	start := time.Now()
	got, err := c.send("GET", rep.env.Operation+"/wait?timeout=90", nil, "", []int{http.StatusOK})
	if err == nil {
		var op struct {
			Status string `json:"status"`
			Err    string `json:"err"`
		}

		err = json.Unmarshal(got.env.Metadata, &op)
		if err == nil && op.Status != "Success" {
			err = fmt.Errorf("%s: operation %s ended %q: %s", kind, rep.env.Operation, op.Status, op.Err)
		}
	}

	c.res.record(kind+"-wait/"+c.t.name, time.Since(start), err)
	return err
}

func (c *client) name(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s-%d-%d", prefix, c.id, c.seq)
}

// step does one action; writes are cfg.writes percent of actions.
func (c *client) step() {
	if c.rng.IntN(100) >= c.cfg.writes {
		switch c.rng.IntN(5) {
		case 0:
			_, _ = c.do("get-server", "GET", "/1.0", nil, "", http.StatusOK)
		case 1:
			_, _ = c.do("list-images", "GET", "/1.0/images?recursion=1", nil, "", http.StatusOK)
		case 2:
			_, _ = c.do("list-instances", "GET", "/1.0/instances?recursion=1", nil, "", http.StatusOK)
		case 3:
			_, _ = c.do("get-image", "GET", "/1.0/images/"+c.cfg.image, nil, "", http.StatusOK)
		case 4:
			_, _ = c.do("list-profiles", "GET", "/1.0/profiles", nil, "", http.StatusOK)
		}

		return
	}

	switch c.rng.IntN(4) {
	case 0:
		c.patchImage()
	case 1:
		name := c.name("alias")
		_, err := c.do("create-alias", "POST", "/1.0/images/aliases", map[string]string{"name": name, "target": c.cfg.image}, "",
			http.StatusOK, http.StatusCreated)
		if err == nil {
			_, _ = c.do("delete-alias", "DELETE", "/1.0/images/aliases/"+name, nil, "", http.StatusOK)
		}

	case 2:
		name := c.name("profile")
		_, err := c.do("create-profile", "POST", "/1.0/profiles", map[string]any{"name": name, "config": map[string]string{"user.k": "v"}}, "",
			http.StatusOK, http.StatusCreated)
		if err == nil {
			_, _ = c.do("delete-profile", "DELETE", "/1.0/profiles/"+name, nil, "", http.StatusOK)
		}

	case 3:
		// Instance creation is much heavier than the rest; a bounded number run at once.
		select {
		case c.instSem <- struct{}{}:
		default:
			_, _ = c.do("get-server", "GET", "/1.0", nil, "", http.StatusOK)
			return
		}

		defer func() { <-c.instSem }()
		c.instance()
	}
}

// propKey is the image property a client edits.
func propKey(id int) string {
	return fmt.Sprintf("load.client%d", id)
}

// patchImage sets this client's own image property with a conditional PATCH: the ETag of a fresh GET must still
// match, or the daemon answers 412, which contention makes expected. The value of the last accepted PATCH is kept
// to check, after the run, that no accepted edit was lost.
func (c *client) patchImage() {
	path := "/1.0/images/" + c.cfg.image
	rep, err := c.do("get-image", "GET", path, nil, "", http.StatusOK)
	if err != nil {
		return
	}

	if rep.etag == "" {
		c.res.record("patch-image/"+c.t.name, 0, fmt.Errorf("GET %s: no ETag", path))
		return
	}

	c.seq++
	value := fmt.Sprint(c.seq)
	body := map[string]any{"properties": map[string]string{propKey(c.id): value}}
	rep, err = c.do("patch-image", "PATCH", path, body, rep.etag, http.StatusOK, http.StatusPreconditionFailed)
	if err != nil {
		return
	}

	if rep.status == http.StatusOK {
		c.lastProp = value
		return
	}

	c.res.mu.Lock()
	c.res.conflicts++
	c.res.mu.Unlock()
}

// instance creates a stopped instance from the image and deletes it.
func (c *client) instance() {
	name := c.name("c")
	body := map[string]any{"name": name, "source": map[string]string{"type": "image", "fingerprint": c.cfg.image}}
	rep, err := c.do("create-instance", "POST", "/1.0/instances", body, "", http.StatusAccepted)
	if err != nil {
		return
	}

	err = c.wait("create-instance", rep)
	if err != nil {
		return
	}

	rep, err = c.do("delete-instance", "DELETE", "/1.0/instances/"+name, nil, "", http.StatusAccepted)
	if err != nil {
		return
	}

	_ = c.wait("delete-instance", rep)
}

func run(cfg config) (*results, error) {
	targets := []target{unixTarget(cfg.socket)}
	if cfg.httpsAddr != "" {
		t, err := httpsTarget(cfg.httpsAddr, cfg.cert, cfg.key)
		if err != nil {
			return nil, err
		}

		targets = append(targets, t)
	}

	// Every target must answer before the clock starts.
	for _, t := range targets {
		c := &client{t: t, cfg: cfg, res: &results{kinds: map[string]*stats{}}}
		_, err := c.send("GET", "/1.0/images/"+cfg.image, nil, "", []int{http.StatusOK})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
	}

	res := &results{kinds: map[string]*stats{}}
	instSem := make(chan struct{}, max(1, cfg.instances))
	deadline := time.Now().Add(cfg.duration)
	start := time.Now()
	var wg sync.WaitGroup
	clients := make([]*client, cfg.clients)
	for i := range cfg.clients {
		c := &client{
			id:      i,
			t:       targets[i%len(targets)],
			cfg:     cfg,
			res:     res,
			rng:     rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))),
			instSem: instSem,
		}

		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				c.step()
			}
		}()
	}

	wg.Wait()
	res.elapsed = time.Since(start)
	if len(res.kinds) == 0 {
		return nil, errors.New("no request was made")
	}

	return res, checkEdits(clients, cfg.image, res)
}

// checkEdits checks that the image keeps, for every client, the value of its last accepted PATCH.
func checkEdits(clients []*client, fp string, res *results) error {
	c := &client{t: clients[0].t, cfg: clients[0].cfg, res: res}
	rep, err := c.send("GET", "/1.0/images/"+fp, nil, "", []int{http.StatusOK})
	if err != nil {
		return err
	}

	var img struct {
		Properties map[string]string `json:"properties"`
	}

	err = json.Unmarshal(rep.env.Metadata, &img)
	if err != nil {
		return err
	}

	for _, cl := range clients {
		if cl.lastProp == "" {
			continue
		}

		res.edits++
		got := img.Properties[propKey(cl.id)]
		if got != cl.lastProp {
			res.lostEdits = append(res.lostEdits, fmt.Sprintf("client %d: property %s is %q, want %q from its last accepted PATCH",
				cl.id, propKey(cl.id), got, cl.lastProp))
		}
	}

	return nil
}
