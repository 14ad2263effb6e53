package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
)

// queryAnswer is one canned answer of testdata/query-server.json: the body for a method and path, or, with Echo, a
// description of the request body (its content type and its JSON, or its text when it is not JSON).
type queryAnswer struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	Echo        bool   `json:"echo"`
}

// queryRequest is what fakeQueryServer saw of one request.
type queryRequest struct {
	line        string
	contentType string
	body        string
}

// fakeQueryServer serves testdata/query-server.json on a unix socket. The stock client's golden files
// (testdata/stock-query-*.out) were printed from a server answering the same bytes.
type fakeQueryServer struct {
	answers []queryAnswer

	mu       sync.Mutex
	requests []queryRequest
}

// newFakeQueryServer starts the server and returns it with a configuration directory whose local remote is it.
func newFakeQueryServer(t *testing.T) (*fakeQueryServer, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "query-server.json"))
	if err != nil {
		t.Fatal(err)
	}

	s := &fakeQueryServer{}
	err = json.Unmarshal(raw, &s.answers)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	conf := filepath.Join(dir, "conf")
	err = os.MkdirAll(conf, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	yml := fmt.Sprintf("default-remote: local\nremotes:\n  local:\n    addr: unix://%s\n    public: false\n", sock)
	err = os.WriteFile(filepath.Join(conf, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	return s, conf
}

func (s *fakeQueryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, queryRequest{line: r.Method + " " + r.URL.RequestURI(),
		contentType: r.Header.Get("Content-Type"), body: string(body)})
	s.mu.Unlock()

	for _, a := range s.answers {
		if a.Method != r.Method || a.Path != r.URL.Path {
			continue
		}

		if a.Echo {
			// As the server the golden files were made with: the JSON decoded (numbers as floats) and encoded again.
			ct, _ := json.Marshal(r.Header.Get("Content-Type"))
			var v any
			err := json.Unmarshal(body, &v)
			data, _ := json.Marshal(v)
			md := fmt.Sprintf(`{"content_type":%s,"json":%s}`, ct, data)
			if err != nil {
				text, _ := json.Marshal(strings.TrimSpace(string(body)))
				md = fmt.Sprintf(`{"content_type":%s,"text":%s}`, ct, text)
			}

			a.Status, a.Body = http.StatusOK, `{"type":"sync","status":"Success","status_code":200,"metadata":`+md+`}`
		}

		ct := a.ContentType
		if ct == "" {
			ct = "application/json"
		}

		w.Header().Set("Content-Type", ct)
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
		return
	}

	fakeFail(w, http.StatusNotFound, "not found")
}

// log returns the requests received, without the GET /1.0 of each connection.
func (s *fakeQueryServer) log() []queryRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []queryRequest
	for _, r := range s.requests {
		if r.line != "GET /1.0" {
			out = append(out, r)
		}
	}

	return out
}

func (s *fakeQueryServer) resetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// runTree runs one CLI invocation of the commands of this file's kind (query, alias, rename, image) against the
// configuration in dir with a fresh command tree, and returns stdout and stderr apart.
func runTree(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVar(&global.flagProject, "project", "", "")
	root.AddCommand((&cmdQuery{global: global}).command())
	root.AddCommand((&cmdAlias{global: global}).command())
	root.AddCommand((&cmdRename{global: global}).command())
	root.AddCommand((&cmdImage{global: global}).command())
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	err = root.Execute()
	return stdout.String(), stderr.String(), err
}

func TestQueryStockGolden(t *testing.T) {
	_, conf := newFakeQueryServer(t)
	tests := []struct {
		golden string
		args   []string
	}{
		{"get", []string{"/1.0/things"}},
		{"raw", []string{"--raw", "/1.0/things"}},
		{"empty", []string{"/1.0/empty"}},
		{"null", []string{"/1.0/null"}},
		{"list", []string{"/1.0/list"}},
		{"string", []string{"/1.0/string"}},
		{"async", []string{"-X", "POST", "-d", `{"name":"x"}`, "/1.0/things"}},
		{"async-raw", []string{"-X", "POST", "--raw", "/1.0/things"}},
		{"wait", []string{"-X", "POST", "--wait", "/1.0/things"}},
		{"wait-raw", []string{"-X", "POST", "--wait", "--raw", "/1.0/things"}},
		{"echo-json", []string{"-X", "PUT", "-d", `{"b":[1,2.50],"a":"<x>","n":null}`, "/1.0/echo"}},
		{"echo-text", []string{"-X", "PUT", "-d", "not json", "/1.0/echo"}},
		{"echo-none", []string{"-X", "PATCH", "/1.0/echo"}},
		{"echo-raw", []string{"-X", "PATCH", "--raw", "-d", `"quoted"`, "local:/1.0/echo"}},
		{"file", []string{"/1.0/file"}},
		{"delete", []string{"-X", "DELETE", "/1.0/things/x"}},
		{"failing-nowait", []string{"-X", "POST", "/1.0/failing"}},
	}

	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "stock-query-"+tt.golden+".out"))
			if err != nil {
				t.Fatal(err)
			}

			got, stderr, err := runTree(t, conf, append([]string{"query"}, tt.args...)...)
			if err != nil {
				t.Fatalf("lxc query %v: %v\n%s", tt.args, err, stderr)
			}

			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	_, conf := newFakeQueryServer(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		// Server errors are passed on as they are, as the stock client does ("Error: not found").
		{"error answer", []string{"/1.0/missing"}, "not found"},
		{"failed operation", []string{"-X", "POST", "--wait", "/1.0/failing"}, "thing creation failed: disk full"},
		{"path without slash", []string{"1.0"}, "query path must start with /"},
		{"unknown remote", []string{"nope:/1.0"}, `the remote "nope" doesn't exist`},
		{"project", []string{"--project", "p1", "/1.0"}, "--project cannot be used with the query command"},
		{"too many arguments", []string{"/1.0", "/1.0"}, "invalid number of arguments"},
		{"bad method", []string{"-X", "GET /x", "/1.0"}, "invalid method"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runTree(t, conf, append([]string{"query"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}

			if strings.Contains(out, "{") {
				t.Fatalf("printed an answer on failure: %s", out)
			}
		})
	}

	// No argument at all prints the help and succeeds, as the stock client does.
	out, _, err := runTree(t, conf, "query")
	if err != nil || !strings.Contains(out, "Send a raw query") {
		t.Fatalf("got %v, %q; want the help", err, out)
	}
}

func TestQueryRequests(t *testing.T) {
	s, conf := newFakeQueryServer(t)
	tests := []struct {
		name string
		args []string
		want []queryRequest
	}{
		// As the stock client: JSON data goes as written, other data (and no data) as a JSON string.
		{"json data", []string{"-X", "PUT", "-d", `{"big":12345678901234567890}`, "/1.0/echo"},
			[]queryRequest{{"PUT /1.0/echo", "application/json", `{"big":12345678901234567890}`}}},
		{"text data", []string{"-X", "PUT", "-d", "a b", "/1.0/echo"},
			[]queryRequest{{"PUT /1.0/echo", "application/json", `"a b"`}}},
		{"no data", []string{"/1.0/empty"}, []queryRequest{{"GET /1.0/empty", "application/json", `""`}}},
		{"wait", []string{"-X", "POST", "--wait", "/1.0/things"}, []queryRequest{
			{"POST /1.0/things", "application/json", `""`},
			{"GET /1.0/operations/0b7a4f5e-0001/wait?", "", ""},
		}},
		// An answer that is not JSON is fetched again as plain HTTP.
		{"plain", []string{"/1.0/file"}, []queryRequest{
			{"GET /1.0/file", "application/json", `""`},
			{"GET /1.0/file", "text/plain", ""},
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.resetLog()
			_, _, err := runTree(t, conf, append([]string{"query"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}

			got := s.log()
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got requests %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueryKeepsNumbers(t *testing.T) {
	_, conf := newFakeQueryServer(t)

	// The stock client decodes numbers as floats and prints 12345678901234567000 and 1.5 here.
	out, _, err := runTree(t, conf, "query", "/1.0/numbers")
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(out, `"big": 12345678901234567890`) || !strings.Contains(out, `"f": 1.50`) {
		t.Fatalf("numbers changed: %s", out)
	}
}
