package tlsutil

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestGenerateAndPin(t *testing.T) {
	dir := t.TempDir()
	server, err := LoadOrGenerate(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), false)
	if err != nil {
		t.Fatal(err)
	}

	again, err := LoadOrGenerate(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), false)
	if err != nil {
		t.Fatal(err)
	}

	if again.Fingerprint() != server.Fingerprint() {
		t.Fatalf("got a new certificate %s on reload, want %s", again.Fingerprint(), server.Fingerprint())
	}

	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	ts.TLS = ServerConfig(server)
	ts.StartTLS()
	defer ts.Close()

	get := func(pin []byte) error {
		cfg, err := ClientConfig(nil, pin)
		if err != nil {
			return err
		}

		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := c.Get(ts.URL)
		if err != nil {
			return err
		}

		return resp.Body.Close()
	}

	err = get(server.PEM)
	if err != nil {
		t.Fatalf("pinned server certificate refused: %v", err)
	}

	other, _, err := GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	err = get(other)
	if err == nil {
		t.Fatal("a different pinned certificate was accepted")
	}

	err = get(nil)
	if err == nil {
		t.Fatal("a self-signed certificate was accepted without a pin")
	}

	// TLS 1.2 clients are refused.
	conn, err := tls.Dial("tcp", ts.Listener.Addr().(*net.TCPAddr).String(), &tls.Config{
		InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
	})
	if err == nil {
		_ = conn.Close()
		t.Fatal("a TLS 1.2 handshake succeeded")
	}
}
