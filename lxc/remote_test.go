package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// loadConf reads the configuration a command left behind.
func loadConf(t *testing.T, dir string) *config.Config {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	return conf
}

// pinnedFingerprint returns the fingerprint of servercerts/<name>.crt, or "" when there is none.
func pinnedFingerprint(t *testing.T, dir string, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "servercerts", name+".crt"))
	if os.IsNotExist(err) {
		return ""
	}

	if err != nil {
		t.Fatal(err)
	}

	fp, err := tlsutil.FingerprintPEM(data)
	if err != nil {
		t.Fatal(err)
	}

	return fp
}

func TestRemoteAddPassword(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()

	// Accept the certificate at the prompt, then give the password at the next one.
	out := mustRun(t, dir, "y\n"+fakePassword+"\n", "remote", "add", "f", f.addr)
	for _, want := range []string{
		"Certificate fingerprint: " + f.certFP + "\n",
		"ok (y/n/[fingerprint])? ",
		"Admin password (or token) for f: ",
		"Generating a client certificate. This may take a minute...\n",
		"Client certificate now trusted by server: f\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	want := config.Remote{Addr: "https://" + f.addr, AuthType: "tls", Project: "default", Protocol: "lxd"}
	got := loadConf(t, dir).Remotes["f"]
	if got != want {
		t.Fatalf("got remote %+v, want %+v", got, want)
	}

	if pinnedFingerprint(t, dir, "f") != f.certFP {
		t.Fatal("the server certificate was not pinned")
	}

	// The client certificate was trusted through the connection itself, as the stock client does it.
	body := f.bodies["POST /1.0/certificates"]
	if body["password"] != fakePassword || body["certificate"] != "" || body["type"] != "client" || body["token"] != false {
		t.Fatalf("got POST body %v", body)
	}

	log := f.requestLog()
	if log[0] != "GET /" || !slices.Contains(log, "GET /1.0/projects") {
		t.Fatalf("got requests %v, want GET / first and a project lookup", log)
	}

	// A second remote to the same server is trusted already and needs no password.
	out = mustRun(t, dir, "", "remote", "add", "again", "https://"+f.addr+"/ignored/path", "--accept-certificate", "--project", "other")
	if strings.Contains(out, "now trusted") {
		t.Fatalf("got %q for an already trusted client", out)
	}

	again := loadConf(t, dir).Remotes["again"]
	if again.Addr != "https://"+f.addr || again.Project != "other" {
		t.Fatalf("got %+v, want the path dropped and project other", again)
	}
}

func TestRemoteAddFingerprintAnswer(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	mustRun(t, dir, f.certFP+"\n", "remote", "add", "f", f.addr, "--password", fakePassword)
	if loadConf(t, dir).Remotes["f"].AuthType != "tls" {
		t.Fatal("remote not added after answering with the fingerprint")
	}
}

func TestRemoteAddFailures(t *testing.T) {
	f := newFakeServer(t)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{name: "nack", stdin: "n\n", args: []string{"f", f.addr}, want: "server certificate NACKed by user"},
		{name: "wrong fingerprint", stdin: "abcd\n", args: []string{"f", f.addr}, want: "NACKed"},
		{name: "no answer", args: []string{"f", f.addr}, want: "EOF"},
		{name: "wrong password", args: []string{"f", f.addr, "--accept-certificate", "--password", "nope"}, want: "not authorized"},
		{name: "connection refused", args: []string{"f", "127.0.0.1:1", "--accept-certificate"}, want: "connection refused"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := runCmd(t, dir, tc.stdin, append([]string{"remote", "add"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}

			_, ok := loadConf(t, dir).Remotes["f"]
			if ok {
				t.Fatal("a failed remote was saved")
			}

			if pinnedFingerprint(t, dir, "f") != "" {
				t.Fatal("the certificate of a failed remote was left in servercerts/")
			}
		})
	}
}

func TestRemoteAddPublic(t *testing.T) {
	f := newFakeServer(t)
	dir := t.TempDir()
	mustRun(t, dir, "", "remote", "add", "pub", f.addr, "--accept-certificate", "--public")
	got := loadConf(t, dir).Remotes["pub"]
	if got != (config.Remote{Addr: "https://" + f.addr, Public: true}) {
		t.Fatalf("got %+v, want a public remote with no auth", got)
	}

	if slices.Contains(f.requestLog(), "POST /1.0/certificates") {
		t.Fatal("a public remote authenticated")
	}

	if loadConf(t, dir).HasClientCertificate() {
		t.Fatal("a client certificate was generated for a public remote")
	}

	// A server that says it is public is stored as public without the flag.
	f.mu.Lock()
	f.public = true
	f.mu.Unlock()
	mustRun(t, dir, "", "remote", "add", "pub2", f.addr, "--accept-certificate")
	if !loadConf(t, dir).Remotes["pub2"].Public {
		t.Fatal("a public server was not stored as public")
	}
}

func TestRemoteAddToken(t *testing.T) {
	f := newFakeServer(t)
	admin := t.TempDir()
	mustRun(t, admin, "", "remote", "add", "f", f.addr, "--accept-certificate", "--password", fakePassword)
	out := mustRun(t, admin, "", "config", "trust", "add", "f:", "--name", "laptop")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "Client laptop certificate add token:" {
		t.Fatalf("got %q", out)
	}

	token, err := api.CertificateAddTokenDecode(lines[1])
	if err != nil {
		t.Fatal(err)
	}

	if token.ClientName != "laptop" || token.Fingerprint != f.certFP || token.Addresses[0] != f.addr {
		t.Fatalf("got token %+v", token)
	}

	// A token whose fingerprint is not the server's is refused before anything is sent.
	bad := *token
	bad.Fingerprint = strings.Repeat("0", 64)
	_, err = runCmd(t, t.TempDir(), "", "remote", "add", "x", bad.String())
	if err == nil || !strings.Contains(err.Error(), "certificate fingerprint mismatch between certificate token and server") {
		t.Fatalf("got %v, want a fingerprint mismatch", err)
	}

	_, err = runCmd(t, t.TempDir(), "", "remote", "add", token.String())
	if err == nil || !strings.Contains(err.Error(), "a remote name is required") {
		t.Fatalf("got %v adding a token without a remote name", err)
	}

	// The first address that answers is used.
	good := *token
	good.Addresses = []string{"127.0.0.1:1", f.addr}
	client := t.TempDir()
	out = mustRun(t, client, "", "remote", "add", "viatoken", good.String())
	if strings.Contains(out, "Certificate fingerprint") {
		t.Fatalf("a token add prompted for the certificate: %q", out)
	}

	want := config.Remote{Addr: "https://" + f.addr, AuthType: "tls", Project: "default", Protocol: "lxd"}
	got := loadConf(t, client).Remotes["viatoken"]
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	if pinnedFingerprint(t, client, "viatoken") != f.certFP {
		t.Fatal("the server certificate was not pinned")
	}

	if f.bodies["POST /1.0/certificates"]["password"] != good.String() {
		t.Fatalf("got POST body %v, want the token as password", f.bodies["POST /1.0/certificates"])
	}

	// The token is used up.
	_, err = runCmd(t, t.TempDir(), "", "remote", "add", "again", good.String())
	if err == nil || !strings.Contains(err.Error(), "not authorized") {
		t.Fatalf("got %v reusing a token, want not authorized", err)
	}

	mustRun(t, client, "", "config", "trust", "list", "viatoken:")
}

func TestRemoteAddValidation(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "remote", "add", "ss", "https://127.0.0.1:1/streams/", "--protocol", "simplestreams")
	got := loadConf(t, dir).Remotes["ss"]
	if got != (config.Remote{Addr: "https://127.0.0.1:1/streams/", Protocol: "simplestreams", Public: true}) {
		t.Fatalf("got %+v", got)
	}

	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"ss", "https://127.0.0.1:2", "--protocol", "simplestreams"}, want: "remote ss exists as <https://127.0.0.1:1/streams/>"},
		{args: []string{"images", "127.0.0.1"}, want: "remote images exists as <https://images.linuxcontainers.org>"},
		{args: []string{"local", "127.0.0.1"}, want: "remote local exists"},
		{args: []string{"s2", "http://127.0.0.1:1", "--protocol", "simplestreams"}, want: "only https URLs are supported for simplestreams"},
		{args: []string{"s2", "127.0.0.1:1", "--protocol", "simplestreams"}, want: "only https URLs are supported for simplestreams"},
		{args: []string{"s2", "https://", "--protocol", "simplestreams"}, want: "no host"},
		{args: []string{"s2", "ftp://127.0.0.1"}, want: `invalid URL scheme "ftp" in "ftp://127.0.0.1"`},
		{args: []string{"s2", "127.0.0.1:1:2"}, want: "invalid address"},
		{args: []string{"127.0.0.1:8443"}, want: "remote names may not contain colons"},
		{args: []string{"a:b", "127.0.0.1"}, want: "remote names may not contain colons"},
		{args: []string{"s2", "127.0.0.1", "--protocol", "foo"}, want: "invalid protocol: foo"},
		{args: []string{"s2", "127.0.0.1", "--auth-type", "candid"}, want: "candid authentication is not supported"},
		{args: []string{"s2", "127.0.0.1", "--auth-type", "foo"}, want: `invalid authentication type "foo"`},
		{args: []string{"a", "b", "c"}, want: "invalid number of arguments"},
	}

	for _, tc := range tests {
		_, err := runCmd(t, dir, "", append([]string{"remote", "add"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("remote add %v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}

	// No argument at all prints the help and succeeds, as the stock client does.
	out, err := runCmd(t, dir, "", "remote", "add")
	if err != nil || !strings.Contains(out, "Usage:") {
		t.Fatalf("got %v, %q, want the help", err, out)
	}
}

func TestRemoteAddUnix(t *testing.T) {
	dir := t.TempDir()
	_, err := runCmd(t, dir, "", "remote", "add", "u", "unix://"+filepath.Join(dir, "missing.socket"))
	if err == nil {
		t.Fatal("a remote on a missing socket was added")
	}

	_, ok := loadConf(t, dir).Remotes["u"]
	if ok {
		t.Fatal("a failed unix remote was saved")
	}
}

func TestRemoteManagement(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "", "remote", "add", "ss", "https://127.0.0.1:1", "--protocol", "simplestreams")
	conf := loadConf(t, dir)
	err := conf.SaveServerCert("ss", []byte("pinned"))
	if err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, dir, "", "remote", "get-default")
	if out != "local\n" {
		t.Fatalf("got default %q, want local", out)
	}

	mustRun(t, dir, "", "remote", "switch", "ss")
	out = mustRun(t, dir, "", "remote", "get-default")
	if out != "ss\n" {
		t.Fatalf("got default %q, want ss", out)
	}

	// Renaming the default remote keeps it the default and moves its certificate.
	mustRun(t, dir, "", "remote", "rename", "ss", "ss2")
	conf = loadConf(t, dir)
	if conf.DefaultRemote != "ss2" || conf.Remotes["ss2"].Addr != "https://127.0.0.1:1" {
		t.Fatalf("got default %q and remotes %v after rename", conf.DefaultRemote, conf.RemoteNames())
	}

	data, err := os.ReadFile(conf.ServerCertPath("ss2"))
	if err != nil || string(data) != "pinned" {
		t.Fatalf("certificate not moved: %q, %v", data, err)
	}

	mustRun(t, dir, "", "remote", "set-url", "ss2", "https://127.0.0.1:2/path")
	got := loadConf(t, dir).Remotes["ss2"].Addr
	if got != "https://127.0.0.1:2/path" {
		t.Fatalf("got URL %q after set-url", got)
	}

	mustRun(t, dir, "", "remote", "add", "l2", "https://127.0.0.1:3", "--protocol", "simplestreams")
	mustRun(t, dir, "", "remote", "mv", "l2", "l3")

	errorCases := []struct {
		args []string
		want string
	}{
		{args: []string{"remove", "ss2"}, want: "can't remove the default remote"},
		{args: []string{"remove", "local"}, want: "remote local is static and cannot be modified"},
		{args: []string{"remove", "ubuntu"}, want: "remote ubuntu is static and cannot be modified"},
		{args: []string{"remove", "nope"}, want: "remote nope doesn't exist"},
		{args: []string{"rename", "ubuntu", "u2"}, want: "remote ubuntu is static and cannot be modified"},
		{args: []string{"rename", "nope", "x"}, want: "remote nope doesn't exist"},
		{args: []string{"rename", "l3", "local"}, want: "remote local already exists"},
		{args: []string{"rename", "l3", "a:b"}, want: "remote names may not contain colons"},
		{args: []string{"switch", "nope"}, want: "remote nope doesn't exist"},
		{args: []string{"set-url", "nope", "https://x"}, want: "remote nope doesn't exist"},
		{args: []string{"set-url", "ubuntu-daily", "https://x"}, want: "remote ubuntu-daily is static and cannot be modified"},
		{args: []string{"set-url", "local", "unix:///x"}, want: "remote local is static"},
		{args: []string{"set-url", "ss2", "http://127.0.0.1"}, want: "only https URLs are supported for simplestreams"},
		{args: []string{"get-default", "extra"}, want: "invalid number of arguments"},
		{args: []string{"list", "extra"}, want: "invalid number of arguments"},
		{args: []string{"list", "--format", "xml"}, want: `invalid format "xml"`},
	}

	for _, tc := range errorCases {
		_, err := runCmd(t, dir, "", append([]string{"remote"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("remote %v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}

	// images is an ordinary remote: it can go.
	mustRun(t, dir, "", "remote", "rm", "images")
	mustRun(t, dir, "", "remote", "switch", "local")
	mustRun(t, dir, "", "remote", "remove", "ss2")
	conf = loadConf(t, dir)
	if strings.Join(conf.RemoteNames(), ",") != "l3,local,ubuntu,ubuntu-daily" {
		t.Fatalf("got remotes %v", conf.RemoteNames())
	}

	_, err = os.Stat(conf.ServerCertPath("ss2"))
	if !os.IsNotExist(err) {
		t.Fatalf("the certificate of a removed remote is still there: %v", err)
	}
}

func TestRemoteListStockGolden(t *testing.T) {
	// The stock client's config.yml, listed by it in testdata/stock-remote-list.<format>.
	stock, err := os.ReadFile(filepath.Join("config", "testdata", "stock-config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	err = os.WriteFile(filepath.Join(dir, "config.yml"), stock, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"table", "compact", "csv", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "stock-remote-list."+format))
			if err != nil {
				t.Fatal(err)
			}

			got := mustRun(t, dir, "", "remote", "list", "--format", format)
			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}

	got := mustRun(t, dir, "", "remote", "ls")
	if !strings.Contains(got, "| full (current) |") {
		t.Fatalf("got %q from the ls alias", got)
	}
}
