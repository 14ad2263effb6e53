package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeNetworks serves the managed bridge br0, the unmanaged eth0, instance c1 and profile p1 on a unix socket,
// checking ETags on writes, and records the writes as "METHOD path".
type fakeNetworks struct {
	mu         sync.Mutex
	extensions []string
	clustered  bool
	etag       int
	br0        api.NetworkPut
	inst       api.InstancePut
	profile    api.ProfilePut
	created    []api.NetworksPost
	writes     []string
}

func newFakeNetworks(t *testing.T, extensions ...string) (*fakeNetworks, string) {
	t.Helper()
	f := &fakeNetworks{
		extensions: extensions,
		br0:        api.NetworkPut{Config: map[string]string{"ipv4.address": "10.0.0.1/24"}},
		inst:       api.InstancePut{Devices: map[string]map[string]string{}},
		profile:    api.ProfilePut{Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}},
	}

	sock := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, sock
}

func (f *fakeNetworks) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	etag := fmt.Sprintf("%q", fmt.Sprint(f.etag))
	reply := func(async bool, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", etag)
		env := map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md}
		if async {
			w.Header().Set("Location", "/1.0/operations/op1")
			w.WriteHeader(http.StatusAccepted)
			env = map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
				"operation": "/1.0/operations/op1", "metadata": api.Operation{ID: "op1", Status: "Success", StatusCode: api.Success}}
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg})
	}

	if r.Method != http.MethodGet {
		f.writes = append(f.writes, r.Method+" "+r.URL.RequestURI())
		if r.Method == http.MethodPut && r.Header.Get("If-Match") != "" && r.Header.Get("If-Match") != etag {
			fail(http.StatusPreconditionFailed, "ETag doesn't match")
			return
		}

		f.etag++
	}

	decode := func(v any) { _ = json.NewDecoder(r.Body).Decode(v) }
	switch p := r.URL.Path; {
	case p == "/1.0":
		reply(false, map[string]any{"api_version": "1.0", "auth": "trusted", "api_extensions": f.extensions,
			"environment": map[string]any{"server_clustered": f.clustered}})
	case p == "/1.0/networks" && r.Method == http.MethodPost:
		var post api.NetworksPost
		decode(&post)
		f.created = append(f.created, post)
		reply(false, nil)
	case p == "/1.0/networks/br0" && r.Method == http.MethodGet:
		reply(false, api.Network{NetworkPut: f.br0, Name: "br0", Type: "bridge", Managed: true, Status: "Created"})
	case p == "/1.0/networks/br0" && r.Method == http.MethodPut:
		f.br0 = api.NetworkPut{}
		decode(&f.br0)
		reply(false, nil)
	case p == "/1.0/networks/eth0":
		reply(false, api.Network{NetworkPut: api.NetworkPut{Config: map[string]string{}}, Name: "eth0", Type: "physical"})
	case p == "/1.0/networks/br0/leases":
		reply(false, []api.NetworkLease{{Hostname: "c1", Hwaddr: "00:16:3e:00:00:01", Address: "10.0.0.2", Type: "dynamic", Location: "m1"}})
	case p == "/1.0/instances/c1" && r.Method == http.MethodGet:
		reply(false, api.Instance{InstancePut: f.inst, Name: "c1"})
	case p == "/1.0/instances/c1":
		f.inst = api.InstancePut{}
		decode(&f.inst)
		reply(true, nil)
	case p == "/1.0/profiles/p1" && r.Method == http.MethodGet:
		reply(false, api.Profile{ProfilePut: f.profile, Name: "p1"})
	case p == "/1.0/profiles/p1":
		f.profile = api.ProfilePut{}
		decode(&f.profile)
		reply(false, nil)
	case strings.HasPrefix(p, "/1.0/operations/op1"):
		reply(false, api.Operation{ID: "op1", Status: "Success", StatusCode: api.Success})
	default:
		fail(http.StatusNotFound, "not found")
	}
}

// runNetworkCmd runs one "lxc network" invocation against the unix socket sock, with stdin.
func runNetworkCmd(t *testing.T, sock string, stdin string, args ...string) (string, error) {
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
	root.AddCommand((&cmdNetwork{global: global}).command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

func TestNetworkCommands(t *testing.T) {
	f, sock := newFakeNetworks(t, "network", "network_leases", "network_state", "instance_nic_network")
	run := func(stdin string, args string) (string, error) {
		t.Helper()
		return runNetworkCmd(t, sock, stdin, strings.Fields(args)...)
	}

	out, err := run("", "network create br1 ipv4.address=none dns.domain=a=b --type bridge")
	want := []api.NetworksPost{{Name: "br1", Type: "bridge",
		NetworkPut: api.NetworkPut{Config: map[string]string{"ipv4.address": "none", "dns.domain": "a=b"}}}}
	if err != nil || out != "Network br1 created\n" || !reflect.DeepEqual(f.created, want) {
		t.Fatalf("create: got %q, %v, %+v", out, err, f.created)
	}

	_, err = run("", "network create br2 novalue")
	if err == nil || err.Error() != "bad key/value pair: novalue" || len(f.created) != 1 {
		t.Fatalf("create with a bad pair: got %v, %d creations", err, len(f.created))
	}

	_, err = run("", "network set br0 ipv4.nat true")
	if err != nil || f.br0.Config["ipv4.nat"] != "true" {
		t.Fatalf("set KEY VALUE: got %v, %v", err, f.br0.Config)
	}

	_, err = run("", "network set br0 dns.domain=x.lan ipv4.dhcp=false")
	if err != nil || f.br0.Config["dns.domain"] != "x.lan" || f.br0.Config["ipv4.dhcp"] != "false" {
		t.Fatalf("set KEY=VALUE...: got %v, %v", err, f.br0.Config)
	}

	_, err = run("from stdin", "network set br0 dns.search -")
	if err != nil || f.br0.Config["dns.search"] != "from stdin" {
		t.Fatalf("set KEY -: got %v, %v", err, f.br0.Config)
	}

	_, err = run("", "network unset br0 ipv4.dhcp")
	v, ok := f.br0.Config["ipv4.dhcp"]
	if err != nil || !ok || v != "" {
		t.Fatalf("unset: got %v, %v; want the key sent empty", err, f.br0.Config)
	}

	out, err = run("", "network get br0 dns.domain")
	if err != nil || out != "x.lan\n" {
		t.Fatalf("get: got %q, %v", out, err)
	}

	out, err = run("", "network get br0 nokey")
	if err != nil || out != "" {
		t.Fatalf("get of an unset key: got %q, %v, want nothing", out, err)
	}

	writes := len(f.writes)
	_, err = run("", "network set eth0 mtu 1400")
	if err == nil || err.Error() != "only managed networks can be modified" || len(f.writes) != writes {
		t.Fatalf("set on an unmanaged network: got %v, writes %v", err, f.writes[writes:])
	}

	_, err = run("description: d\nconfig:\n  ipv4.address: 10.0.0.1/24\n", "network edit br0")
	if err != nil || f.br0.Description != "d" || len(f.br0.Config) != 1 {
		t.Fatalf("edit from stdin: got %v, %+v", err, f.br0)
	}

	_, err = run("", "network attach br0 c1")
	if err != nil || !reflect.DeepEqual(f.inst.Devices["br0"], map[string]string{"type": "nic", "network": "br0"}) {
		t.Fatalf("attach: got %v, %v", err, f.inst.Devices)
	}

	_, err = run("", "network attach br0 c1")
	if err == nil || err.Error() != "device already exists: br0" {
		t.Fatalf("attach twice: got %v", err)
	}

	_, err = run("", "network attach eth0 c1 e1 eth1")
	wantDev := map[string]string{"type": "nic", "nictype": "macvlan", "parent": "eth0", "name": "eth1"}
	if err != nil || !reflect.DeepEqual(f.inst.Devices["e1"], wantDev) {
		t.Fatalf("attach an unmanaged interface: got %v, %v", err, f.inst.Devices)
	}

	_, err = run("", "network detach br0 c1")
	_, still := f.inst.Devices["br0"]
	if err != nil || still || len(f.inst.Devices) != 1 {
		t.Fatalf("detach: got %v, %v", err, f.inst.Devices)
	}

	_, err = run("", "network attach-profile br0 p1 n1 eth2")
	wantDev = map[string]string{"type": "nic", "nictype": "bridged", "parent": "br0", "name": "eth2"}
	if err != nil || !reflect.DeepEqual(f.profile.Devices["n1"], wantDev) {
		t.Fatalf("attach-profile: got %v, %v", err, f.profile.Devices)
	}

	_, err = run("", "network detach-profile br0 p1 root")
	if err == nil || err.Error() != "the specified device doesn't match the network" {
		t.Fatalf("detach-profile of a disk: got %v", err)
	}

	_, err = run("", "network detach-profile br0 p1")
	if err != nil || len(f.profile.Devices) != 1 {
		t.Fatalf("detach-profile: got %v, %v", err, f.profile.Devices)
	}

	out, err = run("", "network list-leases br0 -f csv")
	if err != nil || out != "c1,00:16:3e:00:00:01,10.0.0.2,DYNAMIC\n" {
		t.Fatalf("list-leases: got %q, %v", out, err)
	}

	f.clustered = true
	out, err = run("", "network list-leases br0 -f csv")
	if err != nil || out != "c1,00:16:3e:00:00:01,10.0.0.2,DYNAMIC,m1\n" {
		t.Fatalf("list-leases on a cluster: got %q, %v", out, err)
	}

	f.clustered = false
	out, err = run("", "network get br0 ipv4.address --target none")
	if err != nil || out != "10.0.0.1/24\n" {
		t.Fatalf("get --target none off a cluster: got %q, %v", out, err)
	}

	for args, errText := range map[string]string{
		"network show br0 --target m1":    "cluster member not found",
		"network info br0 --target none":  "to use --target, the destination remote must be a cluster",
		"network create b9 --target none": "--target none: networks pending on a cluster member are not supported",
		"network list local:br0":          "filtering isn't supported yet",
		"network list -f xml":             `invalid format "xml"`,
		"network list-leases br0 -f xml":  `invalid format "xml"`,
		"network show local:":             "missing network name",
		"network get br0":                 "invalid number of arguments",
		"network set br0 a b c":           "invalid key=value configuration: a",
		"network detach br0 c1 nodev":     "the specified device doesn't exist",
		"network detach br0 c1":           "no device found for this network",
	} {
		_, err = run("", args)
		if err == nil || err.Error() != errText {
			t.Errorf("%s: got %v, want %q", args, err, errText)
		}
	}
}

// TestNetworkAttachWithoutNICNetwork checks that a server without instance_nic_network gets a bridged nic on the
// managed bridge, as the stock client sends it.
func TestNetworkAttachWithoutNICNetwork(t *testing.T) {
	f, sock := newFakeNetworks(t, "network")
	_, err := runNetworkCmd(t, sock, "", "network", "attach", "br0", "c1", "eth0")
	want := map[string]string{"type": "nic", "nictype": "bridged", "parent": "br0"}
	if err != nil || !reflect.DeepEqual(f.inst.Devices["eth0"], want) {
		t.Fatalf("got %v, %v, want %v", err, f.inst.Devices, want)
	}

	_, err = runNetworkCmd(t, sock, "", "network", "info", "br0")
	if err == nil || err.Error() != `the server is missing the required "network_state" API extension` {
		t.Fatalf("info without network_state: got %v", err)
	}
}
