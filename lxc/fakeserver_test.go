package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// fakePassword is the trust password of fakeServer.
const fakePassword = "sekret"

// fakeServer answers the parts of the REST API the remote and config commands use, the way the 5.0.2 daemon does.
type fakeServer struct {
	t      *testing.T
	ts     *httptest.Server
	certFP string
	addr   string

	mu       sync.Mutex
	public   bool
	config   map[string]any
	etag     int
	trusted  map[string]api.Certificate
	ops      map[string]api.Operation
	requests []string
	bodies   map[string]map[string]any
	ifMatch  []string
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	f := &fakeServer{
		t:       t,
		config:  map[string]any{"core.https_address": "127.0.0.1:8443", "core.trust_password": true},
		trusted: map[string]api.Certificate{},
		ops:     map[string]api.Operation{},
		bodies:  map[string]map[string]any{},
	}

	f.ts = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.ts.TLS = tlsutil.ServerConfig(&tlsutil.CertInfo{KeyPair: pair, PEM: certPEM})
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	f.certFP = tlsutil.FingerprintDER(pair.Certificate[0])
	f.addr = strings.TrimPrefix(f.ts.URL, "https://")
	return f
}

// requestLog returns the "METHOD path" lines received so far.
func (f *fakeServer) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeServer) trust(cert *x509.Certificate, name string) string {
	fp := tlsutil.FingerprintDER(cert.Raw)
	f.trusted[fp] = api.Certificate{
		CertificatePut: api.CertificatePut{
			Name: name, Type: "client",
			Certificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		},
		Fingerprint: fp,
	}

	return fp
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()

	body, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	var decoded map[string]any
	_ = json.Unmarshal(body, &decoded)
	f.bodies[r.Method+" "+r.URL.Path] = decoded
	f.ifMatch = append(f.ifMatch, r.Header.Get("If-Match"))

	reply := func(code int, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "sync", "status": "Success", "status_code": 200, "operation": "", "error_code": 0, "error": "",
			"metadata": md,
		})
	}

	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg, "metadata": nil})
	}

	var clientCert *x509.Certificate
	if len(r.TLS.PeerCertificates) > 0 {
		clientCert = r.TLS.PeerCertificates[0]
	}

	isTrusted := false
	if clientCert != nil {
		_, isTrusted = f.trusted[tlsutil.FingerprintDER(clientCert.Raw)]
	}

	p := r.URL.Path
	switch {
	case p == "/":
		reply(200, []string{"/1.0"})
	case p == "/1.0" && r.Method == http.MethodGet:
		md := map[string]any{
			"api_extensions": []string{}, "api_status": "stable", "api_version": "1.0", "auth": "untrusted",
			"public": f.public, "auth_methods": []string{"tls"},
		}

		if isTrusted {
			md["auth"] = "trusted"
			md["config"] = f.config
			md["environment"] = map[string]any{"addresses": []string{f.addr}, "certificate_fingerprint": f.certFP}
			w.Header().Set("ETag", fmt.Sprintf(`"etag%d"`, f.etag))
		}

		reply(200, md)
	case p == "/1.0/certificates" && r.Method == http.MethodPost:
		f.certificatesPost(w, decoded, clientCert, isTrusted, reply, fail)
	case !isTrusted:
		fail(403, "not authorized")
	case p == "/1.0" && r.Method == http.MethodPut:
		match := r.Header.Get("If-Match")
		if match != "" && match != fmt.Sprintf(`"etag%d"`, f.etag) {
			fail(412, "ETag doesn't match")
			return
		}

		var put api.ServerPut
		_ = json.Unmarshal(body, &put)
		f.config = put.Config
		f.etag++
		reply(200, map[string]any{})
	case p == "/1.0/projects":
		reply(200, []string{"/1.0/projects/default"})
	case p == "/1.0/certificates" && r.Method == http.MethodGet:
		list := []api.Certificate{}
		for _, c := range f.trusted {
			list = append(list, c)
		}

		reply(200, list)
	case strings.HasPrefix(p, "/1.0/certificates/"):
		var match []string
		for fp := range f.trusted {
			if strings.HasPrefix(fp, strings.TrimPrefix(p, "/1.0/certificates/")) {
				match = append(match, fp)
			}
		}

		if len(match) != 1 {
			fail(404, "Certificate not found")
			return
		}

		switch r.Method {
		case http.MethodDelete:
			delete(f.trusted, match[0])
			reply(200, map[string]any{})
		case http.MethodPut:
			var put api.CertificatePut
			_ = json.Unmarshal(body, &put)
			c := f.trusted[match[0]]
			c.Name, c.Restricted, c.Projects = put.Name, put.Restricted, put.Projects
			f.trusted[match[0]] = c
			reply(200, map[string]any{})
		default:
			reply(200, f.trusted[match[0]])
		}
	case p == "/1.0/operations":
		list := []api.Operation{}
		for _, op := range f.ops {
			list = append(list, op)
		}

		// An image secret is a token operation too; it must not be listed as a certificate token.
		list = append(list, api.Operation{ID: "img", Class: "token", StatusCode: api.Running, Metadata: map[string]any{"secret": "x"}})
		reply(200, map[string][]api.Operation{"running": list})
	case strings.HasPrefix(p, "/1.0/operations/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(p, "/1.0/operations/")
		_, ok := f.ops[id]
		if !ok {
			fail(404, "Operation not found")
			return
		}

		delete(f.ops, id)
		reply(200, map[string]any{})
	default:
		fail(404, "not found")
	}
}

func (f *fakeServer) certificatesPost(w http.ResponseWriter, req map[string]any, clientCert *x509.Certificate, isTrusted bool,
	reply func(int, any), fail func(int, string)) {
	if req["token"] == true {
		if !isTrusted {
			fail(403, "not authorized")
			return
		}

		id := fmt.Sprintf("op-%d", len(f.ops))
		op := api.Operation{
			ID: id, Class: "token", Description: "Executing operation", Status: "Running", StatusCode: api.Running,
			CreatedAt: time.Now(), UpdatedAt: time.Now(),
			Metadata: map[string]any{
				"addresses": []string{f.addr}, "fingerprint": f.certFP, "request": req, "secret": "secret-" + id,
			},
		}

		f.ops[id] = op
		env := map[string]any{
			"type": "async", "status": "Operation created", "status_code": 100, "operation": "/1.0/operations/" + id,
			"metadata": op,
		}

		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/1.0/operations/"+id)
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(env)
		return
	}

	password, _ := req["password"].(string)
	ok := isTrusted || password == fakePassword
	if !ok {
		token, err := api.CertificateAddTokenDecode(password)
		if err == nil {
			for id, op := range f.ops {
				if op.Metadata["secret"] == token.Secret {
					ok = true
					delete(f.ops, id)
				}
			}
		}
	}

	if !ok {
		fail(403, "not authorized")
		return
	}

	cert := clientCert
	encoded, _ := req["certificate"].(string)
	if encoded != "" {
		der, err := base64.StdEncoding.DecodeString(encoded)
		if err == nil {
			cert, err = x509.ParseCertificate(der)
		}

		if err != nil {
			fail(400, "invalid certificate")
			return
		}
	}

	if cert == nil {
		fail(400, "no client certificate")
		return
	}

	name, _ := req["name"].(string)
	fp := f.trust(cert, name)
	w.Header().Set("Location", "/1.0/certificates/"+fp)
	reply(http.StatusCreated, nil)
}

// runCmd runs one CLI invocation against the configuration in dir, as a fresh process would: the configuration is
// loaded anew and the command tree built anew.
func runCmd(t *testing.T, dir string, stdin string, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdRemote{global: global}).command())
	root.AddCommand((&cmdConfig{global: global}).command())
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")

	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

// mustRun is runCmd failing the test on error.
func mustRun(t *testing.T, dir string, stdin string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, dir, stdin, args...)
	if err != nil {
		t.Fatalf("lxc %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	return out
}
