package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// clusterMember is a TLS server on the loopback standing for a member of the cluster to join.
type clusterMember struct {
	address     string
	fingerprint string
	pem         string
}

func newClusterMember(t *testing.T) clusterMember {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	cert := srv.Certificate()
	return clusterMember{
		address:     strings.TrimPrefix(srv.URL, "https://"),
		fingerprint: tlsutil.FingerprintDER(cert.Raw),
		pem:         string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
	}
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func joinToken(name string, fingerprint string, addresses ...string) api.ClusterMemberJoinToken {
	return api.ClusterMemberJoinToken{ServerName: name, Fingerprint: fingerprint, Addresses: addresses, Secret: "s3cret"}
}

func TestInitParseJoinToken(t *testing.T) {
	valid := joinToken("m2", "abcd", "10.0.0.1:8443")
	valid.ExpiresAt = time.Now().Add(time.Hour).UTC().Round(time.Second)
	got, err := parseJoinToken("  " + valid.String() + "\n")
	if err != nil {
		t.Fatal(err)
	}

	if !reflect.DeepEqual(*got, valid) {
		t.Fatalf("got %+v, want %+v", *got, valid)
	}

	encode := func(tok api.ClusterMemberJoinToken) string { return tok.String() }
	expired := valid
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	cases := map[string]struct {
		token string
		want  string
	}{
		"not base64":     {"eyJ!", "illegal base64 data at input byte 3"},
		"not json":       {"bm90IGpzb24=", "invalid character 'o' in literal null (expecting 'u')"},
		"no name":        {encode(joinToken("", "abcd", "a:1")), "No server name in join token"},
		"no address":     {encode(joinToken("m2", "abcd")), "No cluster member addresses in join token"},
		"no secret":      {encode(api.ClusterMemberJoinToken{ServerName: "m2", Fingerprint: "f", Addresses: []string{"a:1"}}), "No secret in join token"},
		"no fingerprint": {encode(joinToken("m2", "", "a:1")), "No certificate fingerprint in join token"},
		"expired":        {encode(expired), "Token has expired"},
	}

	for name, tc := range cases {
		_, err := parseJoinToken(tc.token)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func TestInitFindClusterMember(t *testing.T) {
	member := newClusterMember(t)
	closed := closedAddress(t)

	var out bytes.Buffer
	tok := joinToken("m2", member.fingerprint, closed, member.address)
	address, certPEM, err := findClusterMember(&tok, "", &out)
	if err != nil {
		t.Fatal(err)
	}

	if address != member.address || certPEM != member.pem {
		t.Fatalf("got %q and\n%s\nwant %q and\n%s", address, certPEM, member.address, member.pem)
	}

	if !strings.HasPrefix(out.String(), fmt.Sprintf("Error connecting to existing cluster member %q: ", closed)) ||
		strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("output %q", out.String())
	}

	// The address given first is tried first; the token's addresses are not reached then.
	out.Reset()
	tok = joinToken("m2", member.fingerprint, closed)
	address, _, err = findClusterMember(&tok, member.address, &out)
	if err != nil || address != member.address || out.Len() != 0 {
		t.Fatalf("first address: %q, %v, output %q", address, err, out.String())
	}

	// The first member that answers must present the token's certificate: a later one is not tried.
	tok = joinToken("m2", strings.Repeat("0", 64), member.address, closed)
	_, _, err = findClusterMember(&tok, "", &out)
	want := fmt.Sprintf("Certificate fingerprint mismatch between join token and cluster member %q", member.address)
	if err == nil || err.Error() != want {
		t.Fatalf("mismatch: got %v, want %q", err, want)
	}

	tok = joinToken("m2", member.fingerprint, closed)
	_, _, err = findClusterMember(&tok, "", &out)
	if err == nil || err.Error() != "Unable to connect to any of the cluster members specified in join token" {
		t.Fatalf("unreachable: got %v", err)
	}
}

// joinDocument is a preseed that joins the cluster member stands for, with the token tok.
func joinDocument(tok string) *initPreseed {
	config := &initPreseed{Cluster: &initClusterPreseed{Enabled: true, ClusterToken: tok, ServerAddress: "10.0.0.2"}}
	config.Node.Config = map[string]any{}
	config.Cluster.MemberConfig = []initClusterMemberConfigKey{{Entity: "storage-pool", Name: "local", Key: "source", Value: "/dev/sdb"}}
	return config
}

func TestInitCheckJoin(t *testing.T) {
	member := newClusterMember(t)
	closed := closedAddress(t)
	tok := joinToken("m2", member.fingerprint, closed, member.address)
	token := tok.String()

	want := api.ClusterPut{
		ClusterAddress: member.address, ClusterCertificate: member.pem, ServerAddress: "10.0.0.2:8443", ClusterToken: token,
	}

	want.ServerName = "m2"
	want.Enabled = true
	want.MemberConfig = []api.ClusterMemberConfigKey{{Entity: "storage-pool", Name: "local", Key: "source", Value: "/dev/sdb"}}

	var out bytes.Buffer
	req, err := checkCluster(joinDocument(token), &api.Server{}, &out)
	if err != nil {
		t.Fatal(err)
	}

	if !reflect.DeepEqual(*req, want) {
		t.Fatalf("got %+v\nwant %+v", *req, want)
	}

	if !strings.Contains(out.String(), "Error connecting to existing cluster member") {
		t.Fatalf("output %q", out.String())
	}

	certPath := filepath.Join(t.TempDir(), "cluster.crt")
	err = os.WriteFile(certPath, []byte(member.pem), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	otherPEM, _, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	expired := tok
	expired.ExpiresAt = time.Now().Add(-time.Second)
	unreachable := joinToken("m2", member.fingerprint, closed)
	clustered := &api.Server{}
	clustered.Environment.ServerClustered = true
	refusals := []struct {
		name   string
		change func(*initPreseed, *api.Server) *api.Server
		want   string
	}{
		{"disabled", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.Enabled = false; return s },
			"Failed to join cluster: enabled must be true to join an existing cluster"},
		{"clustered", func(c *initPreseed, s *api.Server) *api.Server { return clustered },
			"Failed to join cluster: This server is already clustered"},
		{"password", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterToken, c.Cluster.ClusterPassword = "", "pw"
			return s
		}, errPasswordJoin.Error()},
		{"no token", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterToken, c.Cluster.ClusterAddress = "", member.address
			return s
		}, "Failed to join cluster: a join token (cluster_token) is required to join an existing cluster"},
		{"certificate twice", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterCertificate, c.Cluster.ClusterCertificatePath = member.pem, certPath
			return s
		}, "Failed to join cluster: cluster_certificate and cluster_certificate_path can't be used together"},
		{"certificate path", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterCertificatePath = certPath + ".missing"
			return s
		}, "Path " + certPath + ".missing doesn't exist"},
		{"bad token", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.ClusterToken = "abc!"; return s },
			"Invalid cluster join token: illegal base64 data at input byte 3"},
		{"expired", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.ClusterToken = expired.String(); return s },
			"Invalid cluster join token: Token has expired"},
		{"name", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.ServerName = "m3"; return s },
			`Failed to join cluster: Server name "m3" does not match the join token's "m2"`},
		{"other certificate", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterCertificate = string(otherPEM)
			return s
		}, "Certificate fingerprint mismatch between join token and cluster certificate"},
		{"bad certificate", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.ClusterCertificate = "x"; return s },
			"Failed to join cluster: invalid cluster certificate: no PEM certificate found"},
		{"no address", func(c *initPreseed, s *api.Server) *api.Server { c.Cluster.ServerAddress = ""; return s },
			"Failed to join cluster: This server is not available on the network: set core.https_address"},
		{"unreachable", func(c *initPreseed, s *api.Server) *api.Server {
			c.Cluster.ClusterToken = unreachable.String()
			return s
		}, "Unable to connect to any of the cluster members specified in join token"},
	}

	for _, tc := range refusals {
		config := joinDocument(token)
		server := tc.change(config, &api.Server{})
		_, err := checkCluster(config, server, &out)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestInitCheckJoinChoices(t *testing.T) {
	member := newClusterMember(t)
	closed := closedAddress(t)
	tok := joinToken("m2", member.fingerprint, member.address)
	certPath := filepath.Join(t.TempDir(), "cluster.crt")
	err := os.WriteFile(certPath, []byte("\n"+member.pem), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	serverWith := func(key string, value string) *api.Server {
		s := &api.Server{}
		s.Config = map[string]any{key: value}
		return s
	}

	cases := []struct {
		name          string
		change        func(*initPreseed)
		server        *api.Server
		serverAddress string
		clusterAddr   string
	}{
		{"document cluster address", func(c *initPreseed) {
			c.Cluster.ServerAddress = ""
			c.Node.Config["core.https_address"] = "10.0.0.3:8443"
			c.Node.Config["cluster.https_address"] = "10.0.0.4"
		}, &api.Server{}, "10.0.0.4:8443", member.address},
		{"document core address", func(c *initPreseed) {
			c.Cluster.ServerAddress = ""
			c.Node.Config["core.https_address"] = "[fd00::3]:9443"
		}, serverWith("cluster.https_address", "10.0.0.9:8443"), "[fd00::3]:9443", member.address},
		{"server address", func(c *initPreseed) { c.Cluster.ServerAddress = "" },
			serverWith("core.https_address", "10.0.0.5:8443"), "10.0.0.5:8443", member.address},
		{"name and password", func(c *initPreseed) { c.Cluster.ServerName, c.Cluster.ClusterPassword = "m2", "ignored" },
			&api.Server{}, "10.0.0.2:8443", member.address},
		{"certificate path", func(c *initPreseed) { c.Cluster.ClusterCertificatePath = certPath },
			&api.Server{}, "10.0.0.2:8443", member.address},
		// A member given with its certificate is not looked up: the address nothing listens on is kept.
		{"member given", func(c *initPreseed) { c.Cluster.ClusterAddress, c.Cluster.ClusterCertificate = closed, member.pem },
			&api.Server{}, "10.0.0.2:8443", closed},
	}

	for _, tc := range cases {
		config := joinDocument(tok.String())
		tc.change(config)
		req, err := checkCluster(config, tc.server, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}

		fingerprint, err := tlsutil.FingerprintPEM([]byte(req.ClusterCertificate))
		if err != nil || fingerprint != member.fingerprint {
			t.Errorf("%s: certificate %q, %v", tc.name, req.ClusterCertificate, err)
		}

		if req.ServerAddress != tc.serverAddress || req.ClusterAddress != tc.clusterAddr || req.ClusterPassword != "" ||
			req.ServerName != "m2" || req.ClusterToken != tok.String() || !req.Enabled {
			t.Errorf("%s: got %+v", tc.name, req)
		}
	}
}

func TestInitCheckClusterBootstrap(t *testing.T) {
	config := &initPreseed{Cluster: &initClusterPreseed{Enabled: true, ServerName: "m1", ServerAddress: "10.0.0.1:8443"}}
	config.Node.Config = map[string]any{"core.https_address": "10.0.0.1:8443"}
	req, err := checkCluster(config, &api.Server{}, &bytes.Buffer{})
	if err != nil || req == nil || req.ServerName != "m1" || !req.Enabled || req.ClusterToken != "" || req.ClusterAddress != "" {
		t.Fatalf("bootstrap: %+v, %v", req, err)
	}

	config.Node.Config = map[string]any{}
	_, err = checkCluster(config, &api.Server{}, &bytes.Buffer{})
	if err == nil || err.Error() != "Failed to configure cluster: This server is not available on the network: set core.https_address" {
		t.Fatalf("no address: %v", err)
	}

	config.Cluster.Enabled = false
	req, err = checkCluster(config, &api.Server{}, &bytes.Buffer{})
	if err != nil || req != nil {
		t.Fatalf("disabled: %+v, %v", req, err)
	}

	req, err = checkCluster(&initPreseed{}, &api.Server{}, &bytes.Buffer{})
	if err != nil || req != nil {
		t.Fatalf("no cluster section: %+v, %v", req, err)
	}
}

// fakeInitServer answers the few calls the interactive questions and the join make; any other call panics.
type fakeInitServer struct {
	client.InstanceServer
	pools     []string
	joinErr   error
	requested []api.ClusterPut
}

func (f *fakeInitServer) GetStoragePool(name string) (*api.StoragePool, string, error) {
	if slices.Contains(f.pools, name) {
		return &api.StoragePool{Name: name}, "", nil
	}

	return nil, "", api.StatusErrorf(http.StatusNotFound, "Storage pool not found")
}

func (f *fakeInitServer) UpdateCluster(req api.ClusterPut, etag string) (client.Operation, error) {
	f.requested = append(f.requested, req)
	return nil, f.joinErr
}

func TestInitJoinCluster(t *testing.T) {
	f := &fakeInitServer{joinErr: errors.New("No matching cluster join operation found")}
	req := api.ClusterPut{ClusterAddress: "10.0.0.1:8443", ClusterToken: "tok"}
	err := joinCluster(f, req)
	if err == nil || err.Error() != "Failed to join cluster: No matching cluster join operation found" {
		t.Fatalf("got %v", err)
	}

	if len(f.requested) != 1 || !reflect.DeepEqual(f.requested[0], req) {
		t.Fatalf("requests %+v", f.requested)
	}
}

// runInit runs the interactive questions with the answers in input, the server's address being 127.0.0.1:18443.
func runInit(t *testing.T, d client.InstanceServer, input string) (*initPreseed, string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cmdInit{stdin: strings.NewReader(input), stdout: &out, stderr: &errOut}
	server := &api.Server{}
	server.Config = map[string]any{"core.https_address": "127.0.0.1:18443"}
	config, err := c.runInteractive(d, server)
	return config, out.String(), errOut.String(), err
}

func TestInitInteractiveJoin(t *testing.T) {
	member := newClusterMember(t)
	tok := joinToken("m2", member.fingerprint, member.address)
	token := tok.String()
	address := fmt.Sprintf("What IP address or DNS name should be used to reach this server? [default=%s]: ", defaultInterfaceAddress())
	tokenQuestion := "Do you have a join token? (yes/no/[token]) [default=no]: "
	end := "All existing data is lost when joining a cluster, continue? (yes/no) [default=no] " +
		"Would you like a YAML \"lxd init\" preseed to be printed? (yes/no) [default=no]: "

	config, out, errOut, err := runInit(t, nil, "yes\n0.0.0.0\n127.0.0.1:18443\nyes\nmaybe\nyes\n"+token+"\nyes\nno\n")
	if err != nil {
		t.Fatal(err)
	}

	wantOut := "Would you like to use LXD clustering? (yes/no) [default=no]: " + address + address +
		"Are you joining an existing cluster? (yes/no) [default=no]: " + tokenQuestion + tokenQuestion +
		"Please provide join token: " + end
	if out != wantOut {
		t.Fatalf("questions:\n%q\nwant\n%q", out, wantOut)
	}

	if errOut != "Invalid input: Invalid IP address or DNS name\n\nInvalid input: Not yes/no, or invalid join token\n\n" {
		t.Fatalf("errors %q", errOut)
	}

	cluster := config.Cluster
	if cluster.ServerName != "m2" || cluster.ClusterToken != token || cluster.ServerAddress != "127.0.0.1:18443" ||
		cluster.ClusterAddress != member.address || cluster.ClusterCertificate != member.pem || !cluster.Enabled {
		t.Fatalf("cluster section %+v", cluster)
	}

	if config.Node.Config["core.https_address"] != "127.0.0.1:18443" || len(config.Node.Config) != 1 ||
		config.Node.Profiles != nil || config.Node.StoragePools != nil || config.Node.Networks != nil {
		t.Fatalf("local part %+v", config.Node)
	}

	// The section the questions built passes the preseed's checks and gives the join request, without a look-up.
	req, err := checkCluster(config, &api.Server{}, &bytes.Buffer{})
	if err != nil || req.ClusterToken != token || req.ClusterAddress != member.address || req.ServerAddress != "127.0.0.1:18443" {
		t.Fatalf("request %+v, %v", req, err)
	}

	// The token may be the answer to the first question; the printed document is the cluster section alone.
	config, out, _, err = runInit(t, nil, "yes\n127.0.0.1:18443\nyes\n"+token+"\nyes\nyes\n")
	if err != nil || config.Cluster.ClusterToken != token {
		t.Fatalf("token answer: %+v, %v", config, err)
	}

	if !strings.Contains(out, "config: {}\nnetworks: []\nstorage_pools: []\nprofiles: []\nprojects: []\ncluster:\n  server_name: m2\n  enabled: true\n") ||
		!strings.Contains(out, "  cluster_token: "+token+"\n") {
		t.Fatalf("printed:\n%s", out)
	}

	refusals := map[string]string{
		"yes\n127.0.0.1:18443\nyes\nno\n":                errPasswordJoin.Error(),
		"yes\n127.0.0.1:18443\nyes\n\n":                  errPasswordJoin.Error(),
		"yes\n127.0.0.1:18443\nyes\n" + token + "\nno\n": "User aborted configuration",
		"yes\n127.0.0.1:18443\nyes\n" + token + "\n\n":   "User aborted configuration",
	}

	for input, want := range refusals {
		_, _, _, err := runInit(t, nil, input)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", input, err, want)
		}
	}

	// A bad or expired token is explained and asked for again.
	reasked := map[string]string{
		"yes\n127.0.0.1:18443\nyes\nyes\nbad\n":                "Invalid input: Invalid join token: illegal base64 data at input byte 0\n\n",
		"yes\n127.0.0.1:18443\nyes\n" + expiredToken(tok):      "Invalid input: Not yes/no, or invalid join token\n\n",
		"yes\n127.0.0.1:18443\nyes\nyes\n" + expiredToken(tok): "Invalid input: Invalid join token: Token has expired\n\n",
	}

	for input, want := range reasked {
		_, _, errOut, err := runInit(t, nil, input)
		if err == nil || err.Error() != "EOF" || errOut != want {
			t.Errorf("%q: got %v and %q, want EOF and %q", input, err, errOut, want)
		}
	}
}

func expiredToken(tok api.ClusterMemberJoinToken) string {
	tok.ExpiresAt = time.Now().Add(-time.Hour)
	return tok.String() + "\n"
}

func TestInitInteractiveBootstrap(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	input := "yes\n127.0.0.1:18443\nno\nnode1\nno\n" + // clustering
		"yes\nno\n" + // a local pool, no remote one
		"no\nno\nno\nno\n" // MAAS, existing interface, image refresh, print
	config, out, _, err := runInit(t, &fakeInitServer{}, input)
	if err != nil {
		t.Fatal(err)
	}

	wantOut := "Would you like to use LXD clustering? (yes/no) [default=no]: " +
		fmt.Sprintf("What IP address or DNS name should be used to reach this server? [default=%s]: ", defaultInterfaceAddress()) +
		"Are you joining an existing cluster? (yes/no) [default=no]: " +
		fmt.Sprintf("What member name should be used to identify this server in the cluster? [default=%s]: ", host) +
		"Setup password authentication on the cluster? (yes/no) [default=no]: " +
		"Do you want to configure a new local storage pool? (yes/no) [default=yes]: " +
		"Do you want to configure a new remote storage pool? (yes/no) [default=no]: " +
		"Would you like to connect to a MAAS server? (yes/no) [default=no]: " +
		"Would you like to configure LXD to use an existing bridge or host interface? (yes/no) [default=no]: " +
		"Would you like stale cached images to be updated automatically? (yes/no) [default=yes]: " +
		"Would you like a YAML \"lxd init\" preseed to be printed? (yes/no) [default=no]: "
	if out != wantOut {
		t.Fatalf("questions:\n%q\nwant\n%q", out, wantOut)
	}

	if config.Cluster.ServerName != "node1" || config.Node.Config["core.https_address"] != "127.0.0.1:18443" ||
		config.Node.Config["images.auto_update_interval"] != "0" || len(config.Node.StoragePools) != 1 ||
		config.Node.StoragePools[0].Name != "local" || config.Node.StoragePools[0].Driver != "dir" ||
		config.Node.Profiles[0].Devices["root"]["pool"] != "local" {
		t.Fatalf("document %+v %+v", config.Node, config.Cluster)
	}

	// The bootstrap ends in the preseed's enable.
	req, err := checkCluster(config, &api.Server{}, &bytes.Buffer{})
	if err != nil || req.ServerName != "node1" || req.ClusterToken != "" {
		t.Fatalf("request %+v, %v", req, err)
	}

	_, _, _, err = runInit(t, &fakeInitServer{pools: []string{"local"}}, "yes\n127.0.0.1:18443\nno\nnode1\nno\nyes\n")
	if err == nil || err.Error() != "The local storage pool already exists" {
		t.Fatalf("existing pool: %v", err)
	}

	_, _, _, err = runInit(t, &fakeInitServer{}, "yes\n127.0.0.1:18443\nno\nnode1\nno\nno\nyes\n")
	if err == nil || err.Error() != "No remote storage backends available" {
		t.Fatalf("remote pool: %v", err)
	}
}

func TestInitStorageDriverNames(t *testing.T) {
	server := &api.Server{}
	for _, name := range []string{"zfs", "ceph", "dir", "cephfs", "btrfs"} {
		server.Environment.StorageSupportedDrivers = append(server.Environment.StorageSupportedDrivers, api.ServerStorageDriverInfo{Name: name})
	}

	cases := map[string][]string{
		"all":    {"dir", "zfs", "ceph", "cephfs", "btrfs"},
		"local":  {"dir", "zfs", "btrfs"},
		"remote": {"ceph", "cephfs"},
	}

	for kind, want := range cases {
		got := storageDriverNames(server, kind)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", kind, got, want)
		}
	}
}
