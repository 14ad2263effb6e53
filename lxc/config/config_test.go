package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStockConfigRoundTrip(t *testing.T) {
	// testdata/stock-config.yml was written by the stock LXD 5.0.2 client.
	stock, err := os.ReadFile(filepath.Join("testdata", "stock-config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	err = os.WriteFile(filepath.Join(dir, "config.yml"), stock, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	if cfg.DefaultRemote != "full" {
		t.Fatalf("got default remote %q, want full", cfg.DefaultRemote)
	}

	want := map[string]Remote{
		"full":         {Addr: "https://127.0.0.1:18443", AuthType: "tls", Project: "default", Protocol: "lxd"},
		"images":       {Addr: "https://images.linuxcontainers.org", Protocol: "simplestreams", Public: true},
		"local":        {Addr: "unix://", Static: true},
		"pub":          {Addr: "https://127.0.0.1:18443", Public: true},
		"ss":           {Addr: "https://127.0.0.1:9999/streams", Protocol: "simplestreams", Public: true},
		"ubuntu":       {Addr: "https://cloud-images.ubuntu.com/releases", Protocol: "simplestreams", Public: true, Static: true},
		"ubuntu-daily": {Addr: "https://cloud-images.ubuntu.com/daily", Protocol: "simplestreams", Public: true, Static: true},
	}

	if len(cfg.Remotes) != len(want) {
		t.Fatalf("got remotes %v, want %v", cfg.RemoteNames(), want)
	}

	for name, r := range want {
		if cfg.Remotes[name] != r {
			t.Errorf("remote %s: got %+v, want %+v", name, cfg.Remotes[name], r)
		}
	}

	if cfg.Aliases["ll"] != "list -c n" {
		t.Fatalf("got aliases %v, want ll: list -c n", cfg.Aliases)
	}

	// Writing it back gives the stock client's bytes.
	err = cfg.Save()
	if err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	if string(got) != string(stock) {
		t.Fatalf("config.yml differs from the stock client's:\ngot:\n%s\nwant:\n%s", got, stock)
	}
}

func TestDefaultConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	if cfg.DefaultRemote != LocalRemote {
		t.Fatalf("got default remote %q, want local", cfg.DefaultRemote)
	}

	names := strings.Join(cfg.RemoteNames(), ",")
	if names != "images,local,ubuntu,ubuntu-daily" {
		t.Fatalf("got remotes %s", names)
	}

	for name, static := range map[string]bool{"images": false, "local": true, "ubuntu": true, "ubuntu-daily": true} {
		if cfg.Remotes[name].Static != static || IsStatic(name) != static {
			t.Errorf("remote %s: got static %v, want %v", name, cfg.Remotes[name].Static, static)
		}
	}

	err = cfg.Save()
	if err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	// What the stock client writes for a fresh configuration.
	want := `default-remote: local
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  local:
    addr: unix://
    public: false
aliases: {}
`
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	// A removed default remote stays removed.
	delete(cfg.Remotes, "images")
	err = cfg.Save()
	if err != nil {
		t.Fatal(err)
	}

	cfg, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	_, ok := cfg.Remotes["images"]
	if ok {
		t.Fatal("the images remote came back after being removed")
	}
}

func TestStaticRemotesOverrideFile(t *testing.T) {
	dir := t.TempDir()
	data := `default-remote: ubuntu
remotes:
  ubuntu:
    addr: https://127.0.0.1:1
    project: other
    public: false
  local:
    addr: unix:///run/custom.socket
    public: true
`
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(data), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	want := Remote{Addr: "https://cloud-images.ubuntu.com/releases", Protocol: "simplestreams", Public: true, Static: true, Project: "other"}
	if cfg.Remotes["ubuntu"] != want {
		t.Fatalf("got %+v, want %+v", cfg.Remotes["ubuntu"], want)
	}

	want = Remote{Addr: "unix:///run/custom.socket", Static: true}
	if cfg.Remotes["local"] != want {
		t.Fatalf("got %+v, want %+v", cfg.Remotes["local"], want)
	}

	_, ok := cfg.Remotes["images"]
	if ok {
		t.Fatal("a default remote was added to an existing configuration")
	}
}

func TestLoadInvalid(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte("remotes: [1, 2"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "config.yml") {
		t.Fatalf("got %v, want a parse error naming config.yml", err)
	}
}

func TestParseRemote(t *testing.T) {
	cfg, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		in         string
		wantRemote string
		wantName   string
		wantErr    string
	}{
		{in: "c1", wantRemote: "local", wantName: "c1"},
		{in: "images:", wantRemote: "images", wantName: ""},
		{in: "images:debian/12", wantRemote: "images", wantName: "debian/12"},
		{in: "local:c1:x", wantRemote: "local", wantName: "c1:x"},
		{in: "nope:c1", wantErr: `the remote "nope" doesn't exist`},
	}

	for _, tc := range tests {
		remote, name, err := cfg.ParseRemote(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseRemote(%q): got error %v, want %q", tc.in, err, tc.wantErr)
			}

			continue
		}

		if err != nil || remote != tc.wantRemote || name != tc.wantName {
			t.Errorf("ParseRemote(%q): got %q, %q, %v, want %q, %q", tc.in, remote, name, err, tc.wantRemote, tc.wantName)
		}
	}
}

func TestNormalizeRemoteAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "127.0.0.1", want: "https://127.0.0.1:8443"},
		{in: "127.0.0.1:9443", want: "https://127.0.0.1:9443"},
		{in: "localhost", want: "https://localhost:8443"},
		{in: "host.example.org:443", want: "https://host.example.org:443"},
		{in: "::1", want: "https://[::1]:8443"},
		{in: "[::1]", want: "https://[::1]:8443"},
		{in: "[::1]:9443", want: "https://[::1]:9443"},
		{in: "https://127.0.0.1", want: "https://127.0.0.1:8443"},
		{in: "https://127.0.0.1:18443/", want: "https://127.0.0.1:18443"},
		{in: "https://127.0.0.1:18443/some/path?x=1", want: "https://127.0.0.1:18443"},
		{in: "https://[::1]:9443", want: "https://[::1]:9443"},
		{in: " 10.0.0.1:1 ", want: "https://10.0.0.1:1"},
		{in: "unix://", want: "unix://"},
		{in: "unix:///var/lib/lxd/unix.socket", want: "unix:///var/lib/lxd/unix.socket"},
		{in: "", wantErr: "empty remote address"},
		{in: "ftp://127.0.0.1", wantErr: `invalid URL scheme "ftp" in "ftp://127.0.0.1"`},
		{in: "http://127.0.0.1", wantErr: `invalid URL scheme "http"`},
		{in: "https://", wantErr: "no host"},
		{in: "https://127.0.0.1:99999", wantErr: "bad port"},
		{in: "127.0.0.1:18443:99", wantErr: "invalid address"},
		{in: "127.0.0.1:abc", wantErr: "bad port"},
		{in: "127.0.0.1:0", wantErr: "bad port"},
		{in: "a b", wantErr: "bad host"},
	}

	for _, tc := range tests {
		got, err := NormalizeRemoteAddr(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NormalizeRemoteAddr(%q): got %q, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
			}

			continue
		}

		if err != nil || got != tc.want {
			t.Errorf("NormalizeRemoteAddr(%q): got %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestValidateRemoteName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{in: "d2", ok: true},
		{in: "my-remote_1.x", ok: true},
		{in: "", ok: false},
		{in: "a:b", ok: false},
		{in: "a/b", ok: false},
		{in: "..", ok: false},
	}

	for _, tc := range tests {
		err := ValidateRemoteName(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateRemoteName(%q): got %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestServerCerts(t *testing.T) {
	cfg, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	err = cfg.SaveServerCert("a", []byte("PEM"))
	if err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(filepath.Join(cfg.ConfigDir, "servercerts"))
	if err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("servercerts: got %v, %v, want a 0750 directory", st, err)
	}

	err = cfg.RenameServerCert("a", "b")
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(cfg.ServerCertPath("b"))
	if err != nil || string(data) != "PEM" {
		t.Fatalf("renamed certificate: got %q, %v", data, err)
	}

	_, err = os.Stat(cfg.ServerCertPath("a"))
	if !os.IsNotExist(err) {
		t.Fatalf("the old certificate is still there: %v", err)
	}

	// Renaming or removing a remote without a pinned certificate is not an error.
	err = cfg.RenameServerCert("none", "other")
	if err != nil {
		t.Fatal(err)
	}

	err = cfg.RemoveServerCert("b")
	if err != nil {
		t.Fatal(err)
	}

	err = cfg.RemoveServerCert("b")
	if err != nil {
		t.Fatal(err)
	}

	err = cfg.SaveServerCert("../x", []byte("PEM"))
	if err == nil {
		t.Fatal("a certificate was saved outside servercerts/")
	}
}

func TestClientCertificate(t *testing.T) {
	cfg, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	if cfg.HasClientCertificate() {
		t.Fatal("a new configuration has a client certificate")
	}

	err = cfg.GenerateClientCertificate()
	if err != nil {
		t.Fatal(err)
	}

	if !cfg.HasClientCertificate() {
		t.Fatal("no client certificate after generating one")
	}

	st, err := os.Stat(cfg.ClientKeyPath())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("client.key: got %v, %v, want mode 0600", st, err)
	}
}
