package client

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// networksTestServer is a small in-memory /1.0/networks: one unmanaged "eth0" plus what is created; it records the
// requests as "METHOD path?query [If-Match]".
type networksTestServer struct {
	mu       sync.Mutex
	requests []string
	networks map[string]*api.Network
	etag     int
}

func newNetworksTestServer(t *testing.T, extensions []string) (InstanceServer, *networksTestServer) {
	t.Helper()
	s := &networksTestServer{networks: map[string]*api.Network{
		"eth0": {Name: "eth0", Type: "physical", NetworkPut: api.NetworkPut{Config: map[string]string{}}},
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

	record := func(r *http.Request) {
		line := r.Method + " " + r.URL.RequestURI()
		if r.Header.Get("If-Match") != "" {
			line += " " + r.Header.Get("If-Match")
		}

		s.requests = append(s.requests, line)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"api_extensions": extensions, "auth": "trusted"}, "")
	})

	mux.HandleFunc("/1.0/networks", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		record(r)
		if r.Method == http.MethodPost {
			var post api.NetworksPost
			err := json.NewDecoder(r.Body).Decode(&post)
			if err != nil {
				reply(w, http.StatusBadRequest, err.Error(), "")
				return
			}

			if s.networks[post.Name] != nil {
				reply(w, http.StatusConflict, "The network already exists", "")
				return
			}

			s.networks[post.Name] = &api.Network{NetworkPut: post.NetworkPut, Name: post.Name, Type: post.Type, Managed: true, Status: "Created"}
			reply(w, http.StatusOK, nil, "")
			return
		}

		if r.URL.Query().Get("recursion") == "1" {
			out := []api.Network{}
			for _, n := range []string{"eth0", "br0", "br1"} {
				if s.networks[n] != nil {
					out = append(out, *s.networks[n])
				}
			}

			reply(w, http.StatusOK, out, "")
			return
		}

		reply(w, http.StatusOK, []string{"/1.0/networks/eth0", "/1.0/networks/br%20x"}, "")
	})

	mux.HandleFunc("/1.0/networks/{name}/{sub}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		record(r)
		if s.networks[r.PathValue("name")] == nil {
			reply(w, http.StatusNotFound, "Network not found", "")
			return
		}

		switch r.PathValue("sub") {
		case "leases":
			reply(w, http.StatusOK, []api.NetworkLease{{Hostname: "c1", Hwaddr: "00:16:3e:00:00:01", Address: "10.0.0.2", Type: "dynamic"}}, "")
		case "state":
			reply(w, http.StatusOK, api.NetworkState{Mtu: 1500, State: "up", Type: "broadcast",
				Bridge: &api.NetworkStateBridge{ID: "8000.00163e000001", UpperDevices: []string{"veth1"}}}, "")
		default:
			reply(w, http.StatusNotFound, "not found", "")
		}
	})

	mux.HandleFunc("/1.0/networks/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		record(r)
		name := r.PathValue("name")
		n := s.networks[name]
		if n == nil {
			reply(w, http.StatusNotFound, "Network not found", "")
			return
		}

		etag := "e" + string(rune('0'+s.etag))
		switch r.Method {
		case http.MethodGet:
			reply(w, http.StatusOK, n, etag)
		case http.MethodPut:
			if r.Header.Get("If-Match") != "" && r.Header.Get("If-Match") != `"`+etag+`"` {
				reply(w, http.StatusPreconditionFailed, "ETag doesn't match", "")
				return
			}

			var put api.NetworkPut
			_ = json.NewDecoder(r.Body).Decode(&put)
			n.NetworkPut = put
			s.etag++
			reply(w, http.StatusOK, nil, "")
		case http.MethodPost:
			var post api.NetworkPost
			_ = json.NewDecoder(r.Body).Decode(&post)
			delete(s.networks, name)
			n.Name = post.Name
			s.networks[post.Name] = n
			reply(w, http.StatusOK, nil, "")
		case http.MethodDelete:
			delete(s.networks, name)
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

func TestNetworks(t *testing.T) {
	c, s := newNetworksTestServer(t, []string{"network", "network_leases", "network_state"})
	names, err := c.GetNetworkNames()
	if err != nil || !reflect.DeepEqual(names, []string{"eth0", "br x"}) {
		t.Fatalf("got names %v (%v), want [eth0 br x]", names, err)
	}

	err = c.CreateNetwork(api.NetworksPost{Name: "br0", Type: "bridge",
		NetworkPut: api.NetworkPut{Config: map[string]string{"ipv4.address": "none"}, Description: "d"}})
	if err != nil {
		t.Fatal(err)
	}

	err = c.CreateNetwork(api.NetworksPost{Name: "br0"})
	if !api.StatusErrorCheck(err, http.StatusConflict) {
		t.Fatalf("got %v creating twice, want a 409", err)
	}

	nets, err := c.GetNetworks()
	if err != nil || len(nets) != 2 || nets[1].Name != "br0" || !nets[1].Managed || nets[1].Config["ipv4.address"] != "none" {
		t.Fatalf("got %+v (%v), want eth0 and the managed br0", nets, err)
	}

	n, etag, err := c.GetNetwork("br0")
	if err != nil || etag != "e0" || n.Type != "bridge" || n.Description != "d" {
		t.Fatalf("got %+v, etag %q (%v), want br0 with ETag e0", n, etag, err)
	}

	put := n.Writable()
	put.Config["ipv4.nat"] = "true"
	err = c.UpdateNetwork("br0", put, etag)
	if err != nil {
		t.Fatal(err)
	}

	err = c.UpdateNetwork("br0", put, etag)
	if !api.StatusErrorCheck(err, http.StatusPreconditionFailed) {
		t.Fatalf("got %v with a stale ETag, want a 412", err)
	}

	err = c.RenameNetwork("br0", api.NetworkPost{Name: "br1"})
	if err != nil {
		t.Fatal(err)
	}

	n, _, err = c.GetNetwork("br1")
	if err != nil || n.Config["ipv4.nat"] != "true" {
		t.Fatalf("got %+v (%v), want the renamed, updated network", n, err)
	}

	leases, err := c.GetNetworkLeases("br1")
	if err != nil || len(leases) != 1 || leases[0].Hostname != "c1" || leases[0].Type != "dynamic" {
		t.Fatalf("got leases %+v (%v), want c1", leases, err)
	}

	state, err := c.GetNetworkState("br1")
	if err != nil || state.Mtu != 1500 || state.Bridge == nil || state.Bridge.UpperDevices[0] != "veth1" {
		t.Fatalf("got state %+v (%v), want the bridge state", state, err)
	}

	err = c.DeleteNetwork("br1")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetNetwork("br1")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v after delete, want a 404", err)
	}

	_, err = c.GetNetworkLeases("br1")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v for the leases of a deleted network, want a 404", err)
	}

	want := []string{
		"GET /1.0/networks", "POST /1.0/networks", "POST /1.0/networks", "GET /1.0/networks?recursion=1",
		"GET /1.0/networks/br0", `PUT /1.0/networks/br0 "e0"`, `PUT /1.0/networks/br0 "e0"`, "POST /1.0/networks/br0",
		"GET /1.0/networks/br1", "GET /1.0/networks/br1/leases", "GET /1.0/networks/br1/state", "DELETE /1.0/networks/br1",
		"GET /1.0/networks/br1", "GET /1.0/networks/br1/leases",
	}

	if !reflect.DeepEqual(s.requests, want) {
		t.Fatalf("got requests\n%q\nwant\n%q", s.requests, want)
	}
}

func TestNetworksProjectAndEscaping(t *testing.T) {
	c, s := newNetworksTestServer(t, []string{"network"})
	_, _, err := c.UseProject("p1").GetNetwork("a b")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v, want a 404", err)
	}

	want := []string{"GET /1.0/networks/a%20b?project=p1"}
	if !reflect.DeepEqual(s.requests, want) {
		t.Fatalf("got requests %q, want %q", s.requests, want)
	}
}

func TestNetworksNeedExtension(t *testing.T) {
	c, s := newNetworksTestServer(t, []string{"network"})
	calls := map[string]func() error{
		"GetNetworkLeases": func() error { _, err := c.GetNetworkLeases("eth0"); return err },
		"GetNetworkState":  func() error { _, err := c.GetNetworkState("eth0"); return err },
	}

	c2, s2 := newNetworksTestServer(t, []string{"etag"})
	calls["GetNetworkNames"] = func() error { _, err := c2.GetNetworkNames(); return err }
	calls["GetNetworks"] = func() error { _, err := c2.GetNetworks(); return err }
	calls["GetNetwork"] = func() error { _, _, err := c2.GetNetwork("eth0"); return err }
	calls["CreateNetwork"] = func() error { return c2.CreateNetwork(api.NetworksPost{Name: "br0"}) }
	calls["UpdateNetwork"] = func() error { return c2.UpdateNetwork("eth0", api.NetworkPut{}, "") }
	calls["RenameNetwork"] = func() error { return c2.RenameNetwork("eth0", api.NetworkPost{Name: "x"}) }
	calls["DeleteNetwork"] = func() error { return c2.DeleteNetwork("eth0") }
	wantExt := map[string]string{"GetNetworkLeases": "network_leases", "GetNetworkState": "network_state"}
	for name, call := range calls {
		ext := wantExt[name]
		if ext == "" {
			ext = "network"
		}

		err := call()
		want := `the server is missing the required "` + ext + `" API extension`
		if err == nil || err.Error() != want {
			t.Fatalf("%s: got %v, want %q", name, err, want)
		}
	}

	if len(s.requests) != 0 || len(s2.requests) != 0 {
		t.Fatalf("got requests %v %v, want none without the extensions", s.requests, s2.requests)
	}
}
