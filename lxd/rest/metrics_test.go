package rest

import (
	"bufio"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// getMetrics serves GET path (the metrics are not a JSON envelope, so apiEnv.request does not fit).
func getMetrics(e *apiEnv, path string, opts ...reqOption) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, opt := range opts {
		req = opt(req)
	}

	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	return rec
}

// TestMetricsAccess: trusted callers and metrics certificates read /1.0/metrics; a metrics certificate gets
// nothing else a trusted caller gets, and an unknown certificate gets no metrics.
func TestMetricsAccess(t *testing.T) {
	e := newAPIEnv(t)
	metricsCert := newClientCert(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "metrics", "certificate": base64.StdEncoding.EncodeToString(metricsCert.Raw),
	})

	clientCert := newClientCert(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "client", "certificate": base64.StdEncoding.EncodeToString(clientCert.Raw),
	})

	stranger := newClientCert(t)
	callers := []struct {
		name string
		opts []reqOption
		code int
	}{
		{"unix", nil, http.StatusOK},
		{"client certificate", []reqOption{asClient(clientCert)}, http.StatusOK},
		{"metrics certificate", []reqOption{asClient(metricsCert)}, http.StatusOK},
		{"unknown certificate", []reqOption{asClient(stranger)}, http.StatusForbidden},
		{"no certificate", []reqOption{asClient(nil)}, http.StatusForbidden},
	}

	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			rec := getMetrics(e, "/1.0/metrics", c.opts...)
			if rec.Code != c.code {
				t.Fatalf("got %d, want %d: %s", rec.Code, c.code, rec.Body)
			}

			if c.code == http.StatusOK && rec.Header().Get("Content-Type") != "text/plain; version=0.0.4" {
				t.Fatalf("got Content-Type %q, want the Prometheus text format", rec.Header().Get("Content-Type"))
			}
		})
	}

	// Everything a trusted client reaches stays closed to the metrics certificate.
	asMetrics := asClient(metricsCert)
	for _, path := range []string{"/1.0/instances", "/1.0/certificates", "/1.0/operations", "/1.0/profiles"} {
		e.expect(t, http.StatusForbidden, http.MethodGet, path, nil, asMetrics)
		e.expect(t, http.StatusOK, http.MethodGet, path, nil, asClient(clientCert))
	}

	e.expect(t, http.StatusForbidden, http.MethodPatch, "/1.0", map[string]any{"config": map[string]any{}}, asMetrics)
	e.expect(t, http.StatusForbidden, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "client", "certificate": base64.StdEncoding.EncodeToString(stranger.Raw),
	}, asMetrics)

	var srv api.Server
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0", nil, asMetrics).metadata(t, &srv)
	if srv.Auth != "untrusted" {
		t.Fatalf("GET /1.0 with a metrics certificate: got auth %q, want untrusted", srv.Auth)
	}
}

// runningDriver reports every instance running as this test process once running is set, so the metrics are
// read from the test's own cgroups and /proc.
type runningDriver struct {
	fuzzDriver
	running *atomic.Bool
}

func (d runningDriver) Status(name string) api.StatusCode {
	if d.running.Load() {
		return api.Running
	}

	return api.Stopped
}

func (d runningDriver) State(name string) instance.RuntimeState {
	if d.running.Load() {
		return instance.RuntimeState{Status: api.Running, Pid: int64(os.Getpid())}
	}

	return instance.RuntimeState{Status: api.Stopped}
}

// sampleLine is one sample of the text format: name, optional labels, value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// TestMetricsRunningInstance reads the metrics of a running instance (this process, through runningDriver) and
// checks the text format line by line.
func TestMetricsRunningInstance(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: instance storage needs root")
	}

	var running atomic.Bool
	e := newAPIEnv(t, withIDMap(testIDMap), withDriver(runningDriver{running: &running}))
	req := httptest.NewRequest(http.MethodPost, "/1.0/instances", strings.NewReader(`{"name": "c1", "source": {"type": "none"}}`))
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("got %d creating c1: %s", rec.Code, rec.Body)
	}

	waitFor(t, "c1 created", func() bool {
		return e.request(t, http.MethodGet, "/1.0/instances/c1", nil).Code == http.StatusOK
	})

	if getMetrics(e, "/1.0/metrics").Body.Len() != 0 {
		t.Fatal("got metrics of a stopped instance")
	}

	running.Store(true)
	rec = getMetrics(e, "/1.0/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d: %s", rec.Code, rec.Body)
	}

	values := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			typed[strings.Fields(line)[2]] = true
			continue
		}

		if strings.HasPrefix(line, "# HELP ") {
			continue
		}

		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("bad sample line %q", line)
		}

		if !typed[m[1]] {
			t.Fatalf("sample %q before its TYPE line", line)
		}

		if !strings.Contains(m[2], `name="c1",project="default",type="container"`) {
			t.Fatalf("sample %q without the instance labels", line)
		}

		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}

		values[m[1]+m[2]] += v
	}

	sum := func(prefix string) float64 {
		total := 0.0
		for k, v := range values {
			if strings.HasPrefix(k, prefix) {
				total += v
			}
		}

		return total
	}

	if sum("lxd_cpu_seconds_total{") <= 0 || sum("lxd_memory_MemTotal_bytes{") <= 0 ||
		sum(`lxd_network_receive_bytes_total{device="lo"`) < 0 || sum("lxd_filesystem_size_bytes{") <= 0 {
		t.Fatalf("got %v, want CPU time, memory, loopback counters and the root file system", values)
	}

	other := getMetrics(e, "/1.0/metrics?project=other")
	if other.Code != http.StatusNotFound && (other.Code != http.StatusOK || other.Body.Len() != 0) {
		t.Fatalf("got %d %q asking for project other, want no metrics of project default", other.Code, other.Body)
	}
}
