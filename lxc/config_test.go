package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// trustedSetup adds the fake server as remote "f", trusted, and makes it the default remote.
func trustedSetup(t *testing.T) (*fakeServer, string) {
	t.Helper()
	f := newFakeServer(t)
	dir := t.TempDir()
	mustRun(t, dir, "", "remote", "add", "f", f.addr, "--accept-certificate", "--password", fakePassword)
	mustRun(t, dir, "", "remote", "switch", "f")
	return f, dir
}

func TestConfigServer(t *testing.T) {
	f, dir := trustedSetup(t)

	want := "config:\n  core.https_address: 127.0.0.1:8443\n  core.trust_password: true\n"
	got := mustRun(t, dir, "", "config", "show", "f:")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	got = mustRun(t, dir, "", "config", "get", "core.https_address")
	if got != "127.0.0.1:8443\n" {
		t.Fatalf("got %q", got)
	}

	got = mustRun(t, dir, "", "config", "get", "f:", "core.trust_password")
	if got != "true\n" {
		t.Fatalf("got %q", got)
	}

	got = mustRun(t, dir, "", "config", "get", "f:", "unset.key")
	if got != "\n" {
		t.Fatalf("got %q for a missing key, want an empty line", got)
	}

	steps := []struct {
		args []string
		want map[string]any
	}{
		{args: []string{"set", "f:", "user.a", "1"}, want: map[string]any{"user.a": "1"}},
		{args: []string{"set", "user.b=2", "user.c=x=y"}, want: map[string]any{"user.b": "2", "user.c": "x=y"}},
		{args: []string{"set", "f:", "user.d=4"}, want: map[string]any{"user.d": "4"}},
		{args: []string{"set", "user.e", "http://h/?q=1"}, want: map[string]any{"user.e": "http://h/?q=1"}},
		{args: []string{"unset", "f:", "user.a"}, want: map[string]any{"user.a": ""}},
		{args: []string{"unset", "user.b"}, want: map[string]any{"user.b": ""}},
	}

	for _, step := range steps {
		mustRun(t, dir, "", append([]string{"config"}, step.args...)...)
		f.mu.Lock()
		put := f.bodies["PUT /1.0"]["config"].(map[string]any)
		ifMatch := f.ifMatch[len(f.ifMatch)-1]
		f.mu.Unlock()

		// The whole configuration is sent back with the change, guarded by the ETag.
		if put["core.https_address"] != "127.0.0.1:8443" || put["core.trust_password"] != true {
			t.Fatalf("config %v: PUT dropped existing keys: %v", step.args, put)
		}

		for k, v := range step.want {
			if put[k] != v {
				t.Fatalf("config %v: got %s=%v, want %v", step.args, k, put[k], v)
			}
		}

		if !strings.HasPrefix(ifMatch, `"etag`) {
			t.Fatalf("config %v: got If-Match %q", step.args, ifMatch)
		}
	}

	// Editing from standard input replaces the configuration, without an ETag.
	mustRun(t, dir, "config:\n  user.only: \"yes\"\n", "config", "edit", "f:")
	f.mu.Lock()
	cfg := f.config
	ifMatch := f.ifMatch[len(f.ifMatch)-1]
	f.mu.Unlock()
	if len(cfg) != 1 || cfg["user.only"] != "yes" || ifMatch != "" {
		t.Fatalf("got config %v with If-Match %q after edit", cfg, ifMatch)
	}

	got = mustRun(t, dir, "", "config", "show")
	if got != "config:\n  user.only: \"yes\"\n" {
		t.Fatalf("got %q", got)
	}

	errorCases := []struct {
		args []string
		want string
	}{
		{args: []string{"set", "f:", "novalue"}, want: "invalid key=value configuration: novalue"},
		{args: []string{"set", "f:", "=v"}, want: "invalid key=value configuration: =v"},
		{args: []string{"set", "f:"}, want: "invalid number of arguments"},
		// Instance forms go to the instance, which this server does not have.
		{args: []string{"set", "c1", "limits.cpu", "2"}, want: "not found"},
		{args: []string{"set", "c1", "k=v"}, want: "not found"},
		{args: []string{"get", "f:c1", "k"}, want: "not found"},
		{args: []string{"show", "c1"}, want: "not found"},
		{args: []string{"edit", "f:c1"}, want: "not found"},
		{args: []string{"show", "nope:"}, want: `the remote "nope" doesn't exist`},
		{args: []string{"get", "a", "b", "c"}, want: "invalid number of arguments"},
		{args: []string{"show", "images:"}, want: "simplestreams"},
	}

	for _, tc := range errorCases {
		_, err := runCmd(t, dir, "", append([]string{"config"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// writeTestCert writes a self-signed certificate for cn, valid from notBefore for a day, as PEM (or DER).
func writeTestCert(t *testing.T, path string, cn string, notBefore time.Time, asPEM bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
	}

	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}

	data := der
	if asPEM {
		data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}

	err = os.WriteFile(path, data, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	return tlsutil.FingerprintDER(der)
}

func TestConfigTrust(t *testing.T) {
	f, dir := trustedSetup(t)
	day := time.Date(2026, 11, 24, 8, 54, 0, 0, time.UTC)
	pemFP := writeTestCert(t, filepath.Join(dir, "other.crt"), "other", day, true)
	derFP := writeTestCert(t, filepath.Join(dir, "raw.der"), "raw", day.Add(13*time.Hour), false)

	mustRun(t, dir, "", "config", "trust", "add", "f:", filepath.Join(dir, "other.crt"))
	mustRun(t, dir, "", "config", "trust", "add", filepath.Join(dir, "raw.der"), "--name", "zz", "--restricted", "--projects", "p1,p2")

	f.mu.Lock()
	body := f.bodies["POST /1.0/certificates"]
	other := f.trusted[pemFP]
	f.mu.Unlock()
	if body["name"] != "zz" || body["restricted"] != true || len(body["projects"].([]any)) != 2 || body["token"] != false {
		t.Fatalf("got POST body %v", body)
	}

	if other.Name != "other.crt" {
		t.Fatalf("got name %q, want the file name", other.Name)
	}

	out := mustRun(t, dir, "", "config", "trust", "list", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %q, want three certificates", out)
	}

	// Rows sort by type, then name, with unnamed ones last.
	wantRows := []string{
		`client,other.crt,other,` + pemFP[:12] + `,"Nov 24, 2026 at 8:54am (UTC)","Nov 25, 2026 at 8:54am (UTC)"`,
		`client,zz,raw,` + derFP[:12] + `,"Nov 24, 2026 at 9:54pm (UTC)","Nov 25, 2026 at 9:54pm (UTC)"`,
	}

	for i, want := range wantRows {
		if lines[i] != want {
			t.Fatalf("row %d: got %q, want %q", i, lines[i], want)
		}
	}

	if !strings.HasPrefix(lines[2], "client,,") {
		t.Fatalf("got last row %q, want the unnamed client certificate", lines[2])
	}

	table := mustRun(t, dir, "", "config", "trust", "list", "f:")
	if !strings.HasPrefix(table, "+--------+-----------+-------------+--------------+") ||
		!strings.Contains(table, "|  TYPE  |   NAME    | COMMON NAME | FINGERPRINT  |") {
		t.Fatalf("got table:\n%s", table)
	}

	show := mustRun(t, dir, "", "config", "trust", "show", "f:"+pemFP[:8])
	if !strings.Contains(show, "name: other.crt\n") || !strings.Contains(show, "fingerprint: "+pemFP+"\n") {
		t.Fatalf("got:\n%s", show)
	}

	mustRun(t, dir, "name: renamed\ntype: client\nrestricted: true\nprojects: [p3]\n", "config", "trust", "edit", pemFP[:8])
	f.mu.Lock()
	edited := f.trusted[pemFP]
	f.mu.Unlock()
	if edited.Name != "renamed" || !edited.Restricted || len(edited.Projects) != 1 {
		t.Fatalf("got %+v after edit", edited.CertificatePut)
	}

	// Both "<remote>:<fp>" and "<remote>: <fp>" remove, by prefix.
	mustRun(t, dir, "", "config", "trust", "remove", "f:"+pemFP[:6])
	mustRun(t, dir, "", "config", "trust", "rm", "f:", derFP[:6])
	out = mustRun(t, dir, "", "config", "trust", "list", "--format", "json")
	if strings.Contains(out, pemFP) || strings.Contains(out, derFP) || !strings.HasPrefix(out, `[{"name":"","type":"client"`) {
		t.Fatalf("got %s after removals", out)
	}

	errorCases := []struct {
		args []string
		want string
	}{
		{args: []string{"remove", "f:" + pemFP[:6]}, want: "Certificate not found"},
		{args: []string{"remove", "f:"}, want: "missing certificate fingerprint"},
		{args: []string{"remove", "f:ab", "cd"}, want: "invalid number of arguments"},
		{args: []string{"add", filepath.Join(dir, "missing.crt")}, want: "no such file or directory"},
		{args: []string{"add", "f:", filepath.Join(dir, "config.yml")}, want: "invalid certificate"},
		{args: []string{"add", "--type", "foo"}, want: `unknown certificate type "foo"`},
		{args: []string{"add", "--type", "metrics", "--name", "m"}, want: "cannot use metrics type certificate when using a token"},
		{args: []string{"list", "--format", "xml"}, want: `invalid format "xml"`},
	}

	for _, tc := range errorCases {
		_, err := runCmd(t, dir, "", append([]string{"config", "trust"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config trust %v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestConfigTrustTokens(t *testing.T) {
	f, dir := trustedSetup(t)

	// The client name is asked for when --name is not given.
	out := mustRun(t, dir, "beta\n", "config", "trust", "add")
	if !strings.HasPrefix(out, "Please provide client name: Client beta certificate add token:\n") {
		t.Fatalf("got %q", out)
	}

	f.mu.Lock()
	body := f.bodies["POST /1.0/certificates"]
	f.mu.Unlock()
	if body["name"] != "beta" || body["token"] != true || body["type"] != "client" || body["password"] != "" {
		t.Fatalf("got token request %v", body)
	}

	out = mustRun(t, dir, "", "config", "trust", "add", "f:", "--name", "alpha", "--quiet")
	alpha, err := api.CertificateAddTokenDecode(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("quiet output %q is not just the token: %v", out, err)
	}

	_, err = runCmd(t, dir, "", "config", "trust", "add")
	if err == nil {
		t.Fatal("a token was created without a client name")
	}

	out = mustRun(t, dir, "", "config", "trust", "list-tokens", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "alpha,"+alpha.String()+"," || !strings.HasPrefix(lines[1], "beta,") {
		t.Fatalf("got tokens %q", out)
	}

	out = mustRun(t, dir, "", "config", "trust", "list-tokens", "f:", "--format", "json")
	if !strings.HasPrefix(out, `[{"ClientName":"alpha","Token":"`+alpha.String()+`","ExpiresAt":""},{"ClientName":"beta"`) {
		t.Fatalf("got %s", out)
	}

	out = mustRun(t, dir, "", "config", "trust", "revoke-token", "f:alpha")
	if out != "Certificate add token for alpha deleted\n" {
		t.Fatalf("got %q", out)
	}

	mustRun(t, dir, "", "config", "trust", "revoke-token", "f:", "beta")
	out = mustRun(t, dir, "", "config", "trust", "list-tokens")
	want := "+------+-------+------------+\n| NAME | TOKEN | EXPIRES AT |\n+------+-------+------------+\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}

	_, err = runCmd(t, dir, "", "config", "trust", "revoke-token", "f:alpha")
	if err == nil || err.Error() != "no certificate add token for member alpha on remote: f" {
		t.Fatalf("got %v revoking a revoked token", err)
	}
}
