package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeCluster serves /1.0, /1.0/cluster, its members and the token operations on a unix socket, the way the
// 5.0.2 daemon answers them, and records the requests other than GET as "METHOD path?query body".
type fakeCluster struct {
	mu         sync.Mutex
	config     map[string]any
	enabled    bool
	enableErr  string
	members    map[string]*api.ClusterMember
	tokens     map[string]api.Operation
	writes     []string
	ifMatch    map[string]string
	extensions []string
}

func newFakeCluster(t *testing.T) (*fakeCluster, string) {
	t.Helper()
	f := &fakeCluster{
		config:     map[string]any{"core.https_address": "10.0.0.1:8443"},
		enabled:    true,
		extensions: []string{"clustering"},
		tokens:     map[string]api.Operation{},
		ifMatch:    map[string]string{},
		members: map[string]*api.ClusterMember{
			"m1": {ServerName: "m1", URL: "https://10.0.0.1:8443", Database: true, Status: "Online", Message: "Fully operational",
				Architecture: "x86_64", ClusterMemberPut: api.ClusterMemberPut{Roles: []string{"database-leader", "database"},
					FailureDomain: "default", Config: map[string]string{}, Groups: []string{"default"}}},
			"m10": {ServerName: "m10", URL: "https://10.0.0.10:8443", Status: "Offline", Message: "No heartbeat for 30s",
				Architecture: "aarch64", ClusterMemberPut: api.ClusterMemberPut{Roles: []string{}, FailureDomain: "rack2",
					Description: "spare", Config: map[string]string{}, Groups: []string{"default"}}},
			"m2": {ServerName: "m2", URL: "https://10.0.0.2:8443", Status: "Online", Message: "Fully operational",
				Architecture: "x86_64", ClusterMemberPut: api.ClusterMemberPut{Roles: []string{"database-standby"},
					FailureDomain: "default", Config: map[string]string{"scheduler.instance": "all"}, Groups: []string{"default"}}},
		},
	}

	sock := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, sock
}

// log returns the recorded writes.
func (f *fakeCluster) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func (f *fakeCluster) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	p := r.URL.EscapedPath()
	if r.Method != http.MethodGet {
		f.writes = append(f.writes, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+strings.TrimSpace(string(body))))
		f.ifMatch[r.Method+" "+p] = r.Header.Get("If-Match")
	}

	async := func(op api.Operation) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/1.0/operations/"+op.ID)
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
			"operation": "/1.0/operations/" + op.ID, "metadata": op})
	}

	name := strings.TrimPrefix(p, "/1.0/cluster/members/")
	member := f.members[name]
	switch {
	case p == "/1.0":
		fakeReply(w, 200, map[string]any{"api_version": "1.0", "auth": "trusted", "api_extensions": f.extensions,
			"config": f.config, "environment": map[string]any{"server_clustered": f.enabled}})
	case p == "/1.0/cluster" && r.Method == http.MethodGet:
		w.Header().Set("ETag", `"cluster-etag"`)
		fakeReply(w, 200, api.Cluster{ServerName: "m1", Enabled: f.enabled, MemberConfig: []api.ClusterMemberConfigKey{}})
	case p == "/1.0/cluster" && r.Method == http.MethodPut:
		op := api.Operation{ID: "op1", Class: "task", Status: "Success", StatusCode: api.Success}
		if f.enableErr != "" {
			op.Status, op.StatusCode, op.Err = "Failure", api.Failure, f.enableErr
		} else {
			f.enabled = true
		}

		async(op)
	case p == "/1.0/cluster/members" && r.Method == http.MethodGet:
		list := []api.ClusterMember{}
		for _, n := range []string{"m10", "m2", "m1"} {
			if f.members[n] != nil {
				list = append(list, *f.members[n])
			}
		}

		fakeReply(w, 200, list)
	case p == "/1.0/cluster/members" && r.Method == http.MethodPost:
		var post api.ClusterMembersPost
		_ = json.Unmarshal(body, &post)
		op := api.Operation{ID: "tok-" + post.ServerName, Class: "token", Description: "Joining cluster", Status: "Running",
			StatusCode: api.Running, CreatedAt: time.Now(), UpdatedAt: time.Now(), MayCancel: true,
			Metadata: map[string]any{"serverName": post.ServerName, "secret": "secret-" + post.ServerName,
				"fingerprint": "fp0123", "addresses": []string{"10.0.0.1:8443", "10.0.0.2:8443"},
				"expiresAt": "2030-01-02T03:04:05Z"}}
		f.tokens[op.ID] = op
		async(op)
	case member == nil && strings.HasPrefix(p, "/1.0/cluster/members/"):
		fakeFail(w, http.StatusNotFound, "Cluster member not found")
	case strings.HasPrefix(p, "/1.0/cluster/members/") && r.Method == http.MethodGet:
		w.Header().Set("ETag", `"member-`+name+`"`)
		fakeReply(w, 200, member)
	case strings.HasPrefix(p, "/1.0/cluster/members/") && r.Method == http.MethodPut:
		var put api.ClusterMemberPut
		_ = json.Unmarshal(body, &put)
		member.ClusterMemberPut = put
		fakeReply(w, 200, nil)
	case strings.HasPrefix(p, "/1.0/cluster/members/") && r.Method == http.MethodPost:
		var post api.ClusterMemberPost
		_ = json.Unmarshal(body, &post)
		delete(f.members, name)
		member.ServerName = post.ServerName
		f.members[post.ServerName] = member
		fakeReply(w, 200, nil)
	case strings.HasPrefix(p, "/1.0/cluster/members/") && r.Method == http.MethodDelete:
		delete(f.members, name)
		fakeReply(w, 200, nil)
	case p == "/1.0/operations" && r.Method == http.MethodGet:
		list := []api.Operation{
			// Token operations that are not join tokens: an image secret and a certificate add token.
			{ID: "img", Class: "token", Status: "Running", StatusCode: api.Running, Metadata: map[string]any{"secret": "x"}},
			{ID: "cert", Class: "token", Status: "Running", StatusCode: api.Running, Metadata: map[string]any{"secret": "y",
				"fingerprint": "fp0123", "addresses": []string{"10.0.0.1:8443"}, "request": map[string]any{"name": "c"}}},
		}

		for _, op := range f.tokens {
			list = append(list, op)
		}

		fakeReply(w, 200, map[string][]api.Operation{"running": list})
	case strings.HasPrefix(p, "/1.0/operations/") && r.Method == http.MethodDelete:
		delete(f.tokens, strings.TrimPrefix(p, "/1.0/operations/"))
		fakeReply(w, 200, nil)
	default:
		fakeFail(w, http.StatusNotFound, "not found")
	}
}

// runClusterCmd runs one "lxc cluster" invocation against the unix socket sock, with stdin.
func runClusterCmd(t *testing.T, sock string, stdin string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	yml := "default-remote: local\nremotes:\n  local:\n    addr: unix://" + sock + "\n    public: false\n"
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")
	root.AddCommand((&cmdCluster{global: global}).command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

func TestClusterList(t *testing.T) {
	f, sock := newFakeCluster(t)
	out, err := runClusterCmd(t, sock, "", "cluster", "list")
	want := `+------+------------------------+------------------+--------------+----------------+-------------+---------+----------------------+
| NAME |          URL           |      ROLES       | ARCHITECTURE | FAILURE DOMAIN | DESCRIPTION |  STATE  |       MESSAGE        |
+------+------------------------+------------------+--------------+----------------+-------------+---------+----------------------+
| m1   | https://10.0.0.1:8443  | database-leader  | x86_64       | default        |             | ONLINE  | Fully operational    |
|      |                        | database         |              |                |             |         |                      |
+------+------------------------+------------------+--------------+----------------+-------------+---------+----------------------+
| m2   | https://10.0.0.2:8443  | database-standby | x86_64       | default        |             | ONLINE  | Fully operational    |
+------+------------------------+------------------+--------------+----------------+-------------+---------+----------------------+
| m10  | https://10.0.0.10:8443 |                  | aarch64      | rack2          | spare       | OFFLINE | No heartbeat for 30s |
+------+------------------------+------------------+--------------+----------------+-------------+---------+----------------------+
`
	if err != nil || out != want {
		t.Fatalf("list: got %v\n%s\nwant\n%s", err, out, want)
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "ls", "local:", "--format", "csv")
	want = `m1,https://10.0.0.1:8443,"database-leader,database",x86_64,default,,ONLINE,Fully operational
m2,https://10.0.0.2:8443,database-standby,x86_64,default,,ONLINE,Fully operational
m10,https://10.0.0.10:8443,,aarch64,rack2,spare,OFFLINE,No heartbeat for 30s
`
	if err != nil || out != want {
		t.Fatalf("list csv: got %v\n%s\nwant\n%s", err, out, want)
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "list", "-f", "json")
	var decoded []api.ClusterMember
	if err != nil || json.Unmarshal([]byte(out), &decoded) != nil || len(decoded) != 3 || decoded[0].ServerName != "m10" {
		t.Fatalf("list json: got %v\n%s", err, out)
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "list", "-f", "xml")
	if err == nil || err.Error() != `invalid format "xml"` {
		t.Fatalf("list with a bad format: got %v", err)
	}

	f.enabled = false
	_, err = runClusterCmd(t, sock, "", "cluster", "list")
	if err == nil || err.Error() != "LXD server isn't part of a cluster" {
		t.Fatalf("list off a cluster: got %v", err)
	}

	f.extensions = nil
	_, err = runClusterCmd(t, sock, "", "cluster", "list")
	if err == nil || err.Error() != `the server is missing the required "clustering" API extension` {
		t.Fatalf("list without the extension: got %v", err)
	}
}

func TestClusterShow(t *testing.T) {
	_, sock := newFakeCluster(t)
	out, err := runClusterCmd(t, sock, "", "cluster", "show", "m1")
	want := `roles:
- database-leader
- database
failure_domain: default
description: ""
config: {}
groups:
- default
server_name: m1
url: https://10.0.0.1:8443
database: true
status: Online
message: Fully operational
architecture: x86_64
`
	if err != nil || out != want {
		t.Fatalf("show: got %v\n%s\nwant\n%s", err, out, want)
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "show", "nope")
	if err == nil || err.Error() != "Cluster member not found" {
		t.Fatalf("show of an unknown member: got %v", err)
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "show", "local:")
	if err == nil || err.Error() != "missing cluster member name" {
		t.Fatalf("show without a name: got %v", err)
	}
}

func TestClusterEnable(t *testing.T) {
	f, sock := newFakeCluster(t)
	_, err := runClusterCmd(t, sock, "", "cluster", "enable", "m1")
	if err == nil || err.Error() != "This LXD server is already clustered" || len(f.log()) != 0 {
		t.Fatalf("enable on a cluster: got %v, writes %q", err, f.log())
	}

	f.enabled = false
	f.config = map[string]any{"cluster.https_address": "10.0.0.1:8443"}
	f.enableErr = "boom"
	_, err = runClusterCmd(t, sock, "", "cluster", "enable", "local:", "m1")
	if err == nil || err.Error() != "Failed to configure cluster: boom" || f.enabled {
		t.Fatalf("enable failing on the server: got %v", err)
	}

	f.enableErr = ""
	out, err := runClusterCmd(t, sock, "", "cluster", "enable", "local:", "node1")
	wantPut := `PUT /1.0/cluster {"server_name":"node1","enabled":true,"member_config":null,"cluster_address":"",` +
		`"cluster_certificate":"","server_address":"","cluster_password":"","cluster_token":""}`
	log := f.log()
	if err != nil || out != "Clustering enabled\n" || !f.enabled || len(log) != 2 || log[1] != wantPut {
		t.Fatalf("enable: got %v, %q, writes %q", err, out, log)
	}

	if f.ifMatch["PUT /1.0/cluster"] != "" {
		t.Fatalf("enable sent If-Match %q, want none", f.ifMatch["PUT /1.0/cluster"])
	}
}

func TestClusterAddAndTokens(t *testing.T) {
	f, sock := newFakeCluster(t)
	out, err := runClusterCmd(t, sock, "", "cluster", "add", "m4")
	header, encoded, _ := strings.Cut(out, "\n")
	if err != nil || header != "Member m4 join token:" {
		t.Fatalf("add: got %v\n%s", err, out)
	}

	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(encoded, "\n"))
	wantJSON := `{"server_name":"m4","fingerprint":"fp0123","addresses":["10.0.0.1:8443","10.0.0.2:8443"],` +
		`"secret":"secret-m4","expires_at":"2030-01-02T03:04:05Z"}`
	if err != nil || string(raw) != wantJSON {
		t.Fatalf("add: got token %q (%v), want %s", raw, err, wantJSON)
	}

	if !reflect.DeepEqual(f.log(), []string{`POST /1.0/cluster/members {"server_name":"m4"}`}) {
		t.Fatalf("add: got writes %q", f.log())
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "add", "m5", "-q")
	if err != nil || strings.Count(out, "\n") != 1 || strings.Contains(out, "join token") {
		t.Fatalf("add -q: got %v, %q, want the token alone", err, out)
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "list-tokens", "--format", "csv")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "m4,"+strings.TrimSuffix(encoded, "\n")+",") ||
		!strings.HasPrefix(lines[1], "m5,") {
		t.Fatalf("list-tokens: got %v\n%s", err, out)
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "revoke-token", "m4")
	if err != nil || out != "Cluster join token for local:m4 deleted\n" || f.log()[2] != "DELETE /1.0/operations/tok-m4" {
		t.Fatalf("revoke-token: got %v, %q, writes %q", err, out, f.log())
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "revoke-token", "c")
	if err == nil || err.Error() != "no cluster join token for member c on remote: local" {
		t.Fatalf("revoke-token of a certificate token: got %v", err)
	}
}

func TestClusterRemoveAndRename(t *testing.T) {
	f, sock := newFakeCluster(t)
	out, err := runClusterCmd(t, sock, "no\n", "cluster", "remove", "m2", "--force")
	if err == nil || err.Error() != "user aborted delete operation" || len(f.log()) != 0 ||
		!strings.HasSuffix(out, "Are you really sure you want to force removing m2? (yes/no): ") {
		t.Fatalf("remove --force answered no: got %v, %q, writes %q", err, out, f.log())
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "rm", "m2", "-f", "--yes")
	if err != nil || out != "Member m2 removed\n" || !reflect.DeepEqual(f.log(), []string{"DELETE /1.0/cluster/members/m2?force=1"}) {
		t.Fatalf("remove --force --yes: got %v, %q, writes %q", err, out, f.log())
	}

	_, err = runClusterCmd(t, sock, "yes\n", "cluster", "remove", "m10", "--force")
	if err != nil || f.log()[1] != "DELETE /1.0/cluster/members/m10?force=1" {
		t.Fatalf("remove --force answered yes: got %v, writes %q", err, f.log())
	}

	out, err = runClusterCmd(t, sock, "", "cluster", "rename", "m1", "m9")
	if err != nil || out != "Member m1 renamed to m9\n" || f.log()[2] != `POST /1.0/cluster/members/m1 {"server_name":"m9"}` {
		t.Fatalf("rename: got %v, %q, writes %q", err, out, f.log())
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "remove", "local:m9")
	if err != nil || f.log()[3] != "DELETE /1.0/cluster/members/m9" || len(f.members) != 0 {
		t.Fatalf("remove: got %v, writes %q", err, f.log())
	}
}

func TestClusterConfig(t *testing.T) {
	f, sock := newFakeCluster(t)
	_, err := runClusterCmd(t, sock, "", "cluster", "set", "m2", "scheduler.instance=manual", "user.a=b")
	want := map[string]string{"scheduler.instance": "manual", "user.a": "b"}
	if err != nil || !reflect.DeepEqual(f.members["m2"].Config, want) || f.ifMatch["PUT /1.0/cluster/members/m2"] != `"member-m2"` {
		t.Fatalf("set: got %v, %v, If-Match %q", err, f.members["m2"].Config, f.ifMatch["PUT /1.0/cluster/members/m2"])
	}

	out, err := runClusterCmd(t, sock, "", "cluster", "get", "m2", "user.a")
	if err != nil || out != "b\n" {
		t.Fatalf("get: got %v, %q", err, out)
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "get", "m2", "user.none")
	if err == nil || err.Error() != `the key "user.none" does not exist on cluster member "m2"` {
		t.Fatalf("get of an unset key: got %v", err)
	}

	_, err = runClusterCmd(t, sock, "", "cluster", "unset", "m2", "user.a")
	v, ok := f.members["m2"].Config["user.a"]
	if err != nil || !ok || v != "" || f.members["m2"].Config["scheduler.instance"] != "manual" {
		t.Fatalf("unset: got %v, %v, want the key sent empty", err, f.members["m2"].Config)
	}

	_, err = runClusterCmd(t, sock, "description: d\nfailure_domain: rack9\nroles: []\nconfig: {}\ngroups:\n- default\n", "cluster", "edit", "m2")
	m := f.members["m2"]
	if err != nil || m.Description != "d" || m.FailureDomain != "rack9" || len(m.Config) != 0 || f.ifMatch["PUT /1.0/cluster/members/m2"] != "" {
		t.Fatalf("edit from stdin: got %v, %+v", err, m.ClusterMemberPut)
	}
}
