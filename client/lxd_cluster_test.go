package client

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// clusterTestServer is a small in-memory /1.0/cluster with the members m1 and "m 2"; it records the requests as
// "METHOD path?query [If-Match] [body]".
type clusterTestServer struct {
	mu       sync.Mutex
	requests []string
	members  map[string]*api.ClusterMember
	enabled  bool
}

func (s *clusterTestServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func newClusterTestServer(t *testing.T, extensions []string) (InstanceServer, *clusterTestServer) {
	t.Helper()
	s := &clusterTestServer{members: map[string]*api.ClusterMember{
		"m1":  {ServerName: "m1", URL: "https://10.0.0.1:8443", Status: "Online", ClusterMemberPut: api.ClusterMemberPut{Roles: []string{"database"}}},
		"m 2": {ServerName: "m 2", URL: "https://10.0.0.2:8443", Status: "Online"},
	}}

	reply := func(w http.ResponseWriter, code int, md any, etag string) {
		w.Header().Set("Content-Type", "application/json")
		if etag != "" {
			w.Header().Set("ETag", `"`+etag+`"`)
		}

		w.WriteHeader(code)
		env := map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md}
		if code != http.StatusOK {
			env = map[string]any{"type": "error", "error_code": code, "error": md}
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	async := func(w http.ResponseWriter, op api.Operation) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/1.0/operations/"+op.ID)
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
			"operation": "/1.0/operations/" + op.ID, "metadata": op})
	}

	record := func(r *http.Request) string {
		body, _ := io.ReadAll(r.Body)
		line := r.Method + " " + r.URL.RequestURI()
		if r.Header.Get("If-Match") != "" {
			line += " " + r.Header.Get("If-Match")
		}

		if len(body) > 0 {
			line += " " + strings.TrimSpace(string(body))
		}

		s.requests = append(s.requests, line)
		return string(body)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"api_extensions": extensions, "auth": "trusted"}, "")
	})

	mux.HandleFunc("/1.0/cluster", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		body := record(r)
		if r.Method == http.MethodPut {
			var put api.ClusterPut
			_ = json.Unmarshal([]byte(body), &put)
			s.enabled = put.Enabled
			async(w, api.Operation{ID: "op1", Class: "task", Status: "Success", StatusCode: api.Success})
			return
		}

		reply(w, http.StatusOK, api.Cluster{ServerName: "m1", Enabled: s.enabled, MemberConfig: []api.ClusterMemberConfigKey{}}, "c1")
	})

	mux.HandleFunc("/1.0/cluster/members", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		body := record(r)
		if r.Method == http.MethodPost {
			var post api.ClusterMembersPost
			_ = json.Unmarshal([]byte(body), &post)
			async(w, api.Operation{ID: "tok1", Class: "token", Description: "Joining cluster", Status: "Running", StatusCode: api.Running,
				Metadata: map[string]any{"serverName": post.ServerName, "secret": "s3cr3t", "fingerprint": "abcd",
					"addresses": []string{"10.0.0.1:8443"}, "expiresAt": "2030-01-02T03:04:05Z"}})
			return
		}

		if r.URL.Query().Get("recursion") == "1" {
			reply(w, http.StatusOK, []api.ClusterMember{*s.members["m1"], *s.members["m 2"]}, "")
			return
		}

		reply(w, http.StatusOK, []string{"/1.0/cluster/members/m1", "/1.0/cluster/members/m%202"}, "")
	})

	mux.HandleFunc("/1.0/cluster/members/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		body := record(r)
		name := r.PathValue("name")
		m := s.members[name]
		if m == nil {
			reply(w, http.StatusNotFound, "Cluster member not found", "")
			return
		}

		switch r.Method {
		case http.MethodGet:
			reply(w, http.StatusOK, m, "e-"+name)
		case http.MethodPut:
			var put api.ClusterMemberPut
			_ = json.Unmarshal([]byte(body), &put)
			m.ClusterMemberPut = put
			reply(w, http.StatusOK, nil, "")
		case http.MethodPost:
			var post api.ClusterMemberPost
			_ = json.Unmarshal([]byte(body), &post)
			delete(s.members, name)
			m.ServerName = post.ServerName
			s.members[post.ServerName] = m
			reply(w, http.StatusOK, nil, "")
		case http.MethodDelete:
			delete(s.members, name)
			reply(w, http.StatusOK, nil, "")
		}
	})

	socket := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(mux)
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)

	c, err := ConnectLXDUnix(socket, nil)
	if err != nil {
		t.Fatal(err)
	}

	return c, s
}

func TestClusterMembers(t *testing.T) {
	c, s := newClusterTestServer(t, []string{"clustering"})
	names, err := c.GetClusterMemberNames()
	if err != nil || !reflect.DeepEqual(names, []string{"m1", "m 2"}) {
		t.Fatalf("got names %q (%v), want [m1 m 2]", names, err)
	}

	members, err := c.GetClusterMembers()
	if err != nil || len(members) != 2 || members[0].Roles[0] != "database" || members[1].URL != "https://10.0.0.2:8443" {
		t.Fatalf("got %+v (%v)", members, err)
	}

	m, etag, err := c.GetClusterMember("m 2")
	if err != nil || etag != "e-m 2" || m.ServerName != "m 2" {
		t.Fatalf("got %+v, etag %q (%v)", m, etag, err)
	}

	put := m.Writable()
	put.Description = "d"
	err = c.UpdateClusterMember("m 2", put, etag)
	if err != nil {
		t.Fatal(err)
	}

	err = c.RenameClusterMember("m 2", api.ClusterMemberPost{ServerName: "m3"})
	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteClusterMember("m3", false)
	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteClusterMember("m1", true)
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetClusterMember("m1")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v after delete, want a 404", err)
	}

	want := []string{
		"GET /1.0/cluster/members", "GET /1.0/cluster/members?recursion=1", "GET /1.0/cluster/members/m%202",
		`PUT /1.0/cluster/members/m%202 "e-m 2" {"roles":null,"failure_domain":"","description":"d","config":null,"groups":null}`,
		`POST /1.0/cluster/members/m%202 {"server_name":"m3"}`,
		"DELETE /1.0/cluster/members/m3", "DELETE /1.0/cluster/members/m1?force=1", "GET /1.0/cluster/members/m1",
	}

	if !reflect.DeepEqual(s.log(), want) {
		t.Fatalf("got requests\n%q\nwant\n%q", s.log(), want)
	}
}

func TestClusterEnableAndJoinToken(t *testing.T) {
	c, s := newClusterTestServer(t, []string{"clustering"})
	cluster, etag, err := c.GetCluster()
	if err != nil || cluster.Enabled || cluster.ServerName != "m1" || etag != "c1" {
		t.Fatalf("got %+v, etag %q (%v)", cluster, etag, err)
	}

	put := api.ClusterPut{}
	put.ServerName = "m1"
	put.Enabled = true
	op, err := c.UpdateCluster(put, etag)
	if err != nil {
		t.Fatal(err)
	}

	err = op.Wait()
	if err != nil || !s.enabled {
		t.Fatalf("got %v, enabled %v", err, s.enabled)
	}

	op, err = c.CreateClusterMember(api.ClusterMembersPost{ServerName: "m4"})
	if err != nil {
		t.Fatal(err)
	}

	opAPI := op.Get()
	token, err := opAPI.ToClusterJoinToken()
	if err != nil {
		t.Fatal(err)
	}

	want := api.ClusterMemberJoinToken{ServerName: "m4", Fingerprint: "abcd", Addresses: []string{"10.0.0.1:8443"},
		Secret: "s3cr3t", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(*token, want) {
		t.Fatalf("got token %+v, want %+v", *token, want)
	}

	raw, err := base64.StdEncoding.DecodeString(token.String())
	wantJSON := `{"server_name":"m4","fingerprint":"abcd","addresses":["10.0.0.1:8443"],"secret":"s3cr3t","expires_at":"2030-01-02T03:04:05Z"}`
	if err != nil || string(raw) != wantJSON {
		t.Fatalf("got encoded token %q (%v), want %s", raw, err, wantJSON)
	}

	// The PUT carries no ETag, as LXD's client sends it.
	wantLog := []string{
		"GET /1.0/cluster",
		`PUT /1.0/cluster {"server_name":"m1","enabled":true,"member_config":null,"cluster_address":"","cluster_certificate":"","server_address":"","cluster_password":"","cluster_token":""}`,
		`POST /1.0/cluster/members {"server_name":"m4"}`,
	}

	if !reflect.DeepEqual(s.log(), wantLog) {
		t.Fatalf("got requests\n%q\nwant\n%q", s.log(), wantLog)
	}
}

func TestClusterJoinTokenFromOtherOperations(t *testing.T) {
	for _, op := range []api.Operation{
		{ID: "img", Class: "token", Metadata: map[string]any{"secret": "x"}},
		{ID: "cert", Class: "token", Metadata: map[string]any{"secret": "x", "fingerprint": "f", "addresses": []any{"a"},
			"request": map[string]any{"name": "c"}}},
		{ID: "task", Class: "task", Metadata: map[string]any{"serverName": "m", "secret": "x", "fingerprint": "f", "addresses": []any{"a"}}},
		{ID: "bad", Class: "token", Metadata: map[string]any{"serverName": "m", "secret": "x", "fingerprint": "f", "addresses": []any{1}}},
	} {
		_, err := op.ToClusterJoinToken()
		if err == nil {
			t.Errorf("operation %s: got a join token, want an error", op.ID)
		}
	}
}

func TestClusterNeedsExtension(t *testing.T) {
	c, s := newClusterTestServer(t, []string{"network"})
	calls := map[string]func() error{
		"GetCluster":            func() error { _, _, err := c.GetCluster(); return err },
		"UpdateCluster":         func() error { _, err := c.UpdateCluster(api.ClusterPut{}, ""); return err },
		"GetClusterMemberNames": func() error { _, err := c.GetClusterMemberNames(); return err },
		"GetClusterMembers":     func() error { _, err := c.GetClusterMembers(); return err },
		"GetClusterMember":      func() error { _, _, err := c.GetClusterMember("m1"); return err },
		"UpdateClusterMember":   func() error { return c.UpdateClusterMember("m1", api.ClusterMemberPut{}, "") },
		"RenameClusterMember":   func() error { return c.RenameClusterMember("m1", api.ClusterMemberPost{ServerName: "x"}) },
		"DeleteClusterMember":   func() error { return c.DeleteClusterMember("m1", true) },
		"CreateClusterMember": func() error {
			_, err := c.CreateClusterMember(api.ClusterMembersPost{ServerName: "x"})
			return err
		},
	}

	for name, call := range calls {
		err := call()
		if err == nil || err.Error() != `the server is missing the required "clustering" API extension` {
			t.Errorf("%s: got %v, want the missing extension", name, err)
		}
	}

	joinPut := api.ClusterPut{ServerAddress: "10.0.0.2:8443"}
	c2, _ := newClusterTestServer(t, []string{"clustering"})
	_, err := c2.UpdateCluster(joinPut, "")
	if err == nil || !strings.Contains(err.Error(), `"clustering_join" API extension`) {
		t.Fatalf("join without clustering_join: got %v", err)
	}

	if len(s.log()) != 0 {
		t.Fatalf("requests %q sent to a server without the extension", s.log())
	}
}
