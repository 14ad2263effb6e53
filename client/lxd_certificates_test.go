package client

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// certServer is a minimal server holding trusted certificates, recording what it receives.
type certServer struct {
	mu       sync.Mutex
	certs    map[string]api.Certificate
	lastBody map[string]any
	ifMatch  string
}

func (s *certServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	reply := func(code int, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md})
	}

	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg})
	}

	body, _ := io.ReadAll(r.Body)
	s.lastBody = nil
	_ = json.Unmarshal(body, &s.lastBody)
	s.ifMatch = r.Header.Get("If-Match")

	find := func(prefix string) (string, bool) {
		found := ""
		for fp := range s.certs {
			if strings.HasPrefix(fp, prefix) {
				if found != "" {
					return "", false
				}

				found = fp
			}
		}

		return found, found != ""
	}

	switch {
	case r.URL.Path == "/1.0":
		reply(200, map[string]any{"auth": "trusted", "api_version": "1.0"})
	case r.URL.Path == "/1.0/certificates" && r.Method == http.MethodGet:
		if r.URL.Query().Get("recursion") == "1" {
			list := []api.Certificate{}
			for _, c := range s.certs {
				list = append(list, c)
			}

			reply(200, list)
			return
		}

		urls := []string{}
		for fp := range s.certs {
			urls = append(urls, "/1.0/certificates/"+fp)
		}

		reply(200, urls)
	case r.URL.Path == "/1.0/certificates" && r.Method == http.MethodPost:
		var req api.CertificatesPost
		_ = json.Unmarshal(body, &req)
		if req.Password != "secret" {
			fail(403, "not authorized")
			return
		}

		s.certs["ff00"+req.Name] = api.Certificate{CertificatePut: req.CertificatePut, Fingerprint: "ff00" + req.Name}
		w.Header().Set("Location", "/1.0/certificates/ff00"+req.Name)
		reply(201, nil)
	case strings.HasPrefix(r.URL.Path, "/1.0/certificates/"):
		fp, ok := find(strings.TrimPrefix(r.URL.Path, "/1.0/certificates/"))
		if !ok {
			fail(404, "Certificate not found")
			return
		}

		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", `"etag-`+fp+`"`)
			reply(200, s.certs[fp])
		case http.MethodPut:
			var put api.CertificatePut
			_ = json.Unmarshal(body, &put)
			c := s.certs[fp]
			c.CertificatePut = put
			s.certs[fp] = c
			reply(200, map[string]any{})
		case http.MethodDelete:
			delete(s.certs, fp)
			reply(200, map[string]any{})
		}
	default:
		fail(404, "not found")
	}
}

func newCertTestServer(t *testing.T) (*certServer, InstanceServer, string) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	fake := &certServer{certs: map[string]api.Certificate{
		"abcd1234": {CertificatePut: api.CertificatePut{Name: "one", Type: "client"}, Fingerprint: "abcd1234"},
		"abef5678": {CertificatePut: api.CertificatePut{Name: "two", Type: "client"}, Fingerprint: "abef5678"},
	}}

	ts := httptest.NewUnstartedServer(fake)
	ts.TLS = tlsutil.ServerConfig(&tlsutil.CertInfo{KeyPair: pair, PEM: certPEM})
	ts.StartTLS()
	t.Cleanup(ts.Close)

	c, err := ConnectLXD(ts.URL, &ConnectionArgs{TLSServerCert: string(certPEM)})
	if err != nil {
		t.Fatal(err)
	}

	return fake, c, ts.URL
}

func TestCertificates(t *testing.T) {
	fake, c, _ := newCertTestServer(t)

	fps, err := c.GetCertificateFingerprints()
	if err != nil {
		t.Fatal(err)
	}

	if len(fps) != 2 || !strings.HasPrefix(fps[0], "ab") || !strings.HasPrefix(fps[1], "ab") {
		t.Fatalf("got fingerprints %v, want the two stored ones", fps)
	}

	certs, err := c.GetCertificates()
	if err != nil {
		t.Fatal(err)
	}

	if len(certs) != 2 {
		t.Fatalf("got %d certificates, want 2", len(certs))
	}

	cert, etag, err := c.GetCertificate("abcd")
	if err != nil {
		t.Fatal(err)
	}

	if cert.Name != "one" || etag != "etag-abcd1234" {
		t.Fatalf("got %q with ETag %q, want one with etag-abcd1234", cert.Name, etag)
	}

	_, _, err = c.GetCertificate("ab")
	if !api.StatusErrorCheck(err, 404) {
		t.Fatalf("got %v for an ambiguous prefix, want a 404 StatusError", err)
	}

	err = c.UpdateCertificate("abcd", api.CertificatePut{Name: "renamed", Type: "client"}, etag)
	if err != nil {
		t.Fatal(err)
	}

	if fake.ifMatch != `"etag-abcd1234"` || fake.certs["abcd1234"].Name != "renamed" {
		t.Fatalf("got If-Match %q and name %q", fake.ifMatch, fake.certs["abcd1234"].Name)
	}

	err = c.CreateCertificate(api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "new", Type: "client"}, Password: "wrong"})
	if !api.StatusErrorCheck(err, 403) || err.Error() != "not authorized" {
		t.Fatalf("got %v, want 403 not authorized", err)
	}

	err = c.CreateCertificate(api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "new", Type: "client"}, Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}

	// The request has the field names and values the stock client sends.
	for k, want := range map[string]any{"name": "new", "type": "client", "password": "secret", "token": false, "certificate": "", "restricted": false} {
		if fake.lastBody[k] != want {
			t.Fatalf("POST body field %q: got %v, want %v", k, fake.lastBody[k], want)
		}
	}

	err = c.DeleteCertificate("abef")
	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteCertificate("abef")
	if !api.StatusErrorCheck(err, 404) {
		t.Fatalf("got %v deleting a removed certificate, want 404", err)
	}

	fps, err = c.GetCertificateFingerprints()
	if err != nil {
		t.Fatal(err)
	}

	if len(fps) != 2 {
		t.Fatalf("got %v after add and delete, want two fingerprints", fps)
	}
}

func TestGetServerCertificate(t *testing.T) {
	_, c, u := newCertTestServer(t)
	info, err := c.GetConnectionInfo()
	if err != nil {
		t.Fatal(err)
	}

	want, err := tlsutil.FingerprintPEM([]byte(info.Certificate))
	if err != nil {
		t.Fatal(err)
	}

	// A path is ignored: the certificate belongs to the host.
	cert, err := GetServerCertificate(u+"/some/path", "test")
	if err != nil {
		t.Fatal(err)
	}

	got := tlsutil.FingerprintDER(cert.Raw)
	if got != want {
		t.Fatalf("got certificate %s, want %s", got, want)
	}

	_, err = GetServerCertificate(strings.Replace(u, "https", "http", 1), "test")
	if err == nil {
		t.Fatal("an http:// URL was accepted")
	}
}

func TestLastPathElement(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "/1.0/certificates/abc", want: "abc"},
		{in: "/1.0/certificates/a%20b", want: "a b"},
		{in: "/1.0/certificates/", wantErr: true},
		{in: "/1.0/images/abc", wantErr: true},
		{in: "/1.0/certificates/a/b", wantErr: true},
	}

	for _, tc := range tests {
		got, err := lastPathElement(tc.in, "/1.0/certificates/")
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("lastPathElement(%q): got %q, %v, want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
