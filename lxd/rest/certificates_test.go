package rest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// certificatesStored is what the certificate tests compare before and after a refused request.
var certificatesStored = []string{"/1.0/certificates?recursion=1"}

// listCertificates returns the fingerprints of the trusted certificates, from the URL list.
func listCertificates(t *testing.T, e *apiEnv) []string {
	t.Helper()
	res := e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates", nil)
	var urls []string
	res.metadata(t, &urls)
	fps := make([]string, 0, len(urls))
	for _, u := range urls {
		fp, ok := strings.CutPrefix(u, "/1.0/certificates/")
		if !ok {
			t.Fatalf("got URL %q, want /1.0/certificates/<fingerprint>", u)
		}

		fps = append(fps, fp)
	}

	return fps
}

// getCertificate returns a certificate and its ETag.
func getCertificate(t *testing.T, e *apiEnv, fp string) (api.Certificate, string) {
	t.Helper()
	res := e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates/"+fp, nil)
	var cert api.Certificate
	res.metadata(t, &cert)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("GET /1.0/certificates/%s: no ETag", fp)
	}

	return cert, etag
}

func TestCertificatesAddListGetDelete(t *testing.T) {
	e := newAPIEnv(t)
	if fps := listCertificates(t, e); len(fps) != 0 {
		t.Fatalf("got %v on a new server, want no certificate", fps)
	}

	res := e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates?recursion=1", nil)
	if string(res.Env.Metadata) != "[]" {
		t.Fatalf("got %s for the full list of a new server, want []", res.Env.Metadata)
	}

	// A trusted caller adds a certificate as PEM, and another as base64 DER (the stock client's form).
	laptop := newClientCert(t)
	laptopFP := tlsutil.FingerprintDER(laptop.Raw)
	laptopPEM := certPEM(laptop)
	res = e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates",
		api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "laptop", Certificate: laptopPEM}})
	if res.Header.Get("Location") != "/1.0/certificates/"+laptopFP {
		t.Fatalf("got Location %q, want the new certificate's URL", res.Header.Get("Location"))
	}

	metrics := newClientCert(t)
	metricsFP := tlsutil.FingerprintDER(metrics.Raw)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "metrics", "certificate": base64.StdEncoding.EncodeToString(metrics.Raw),
		"projects": []string{"default"}, "restricted": true,
	})

	fps := listCertificates(t, e)
	want := []string{laptopFP, metricsFP}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}

	if len(fps) != 2 || fps[0] != want[0] || fps[1] != want[1] {
		t.Fatalf("got %v, want %v in fingerprint order", fps, want)
	}

	var full []api.Certificate
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates?recursion=1", nil).metadata(t, &full)
	if len(full) != 2 || full[0].Fingerprint != want[0] || full[1].Fingerprint != want[1] {
		t.Fatalf("got %+v, want both certificates in full", full)
	}

	got, _ := getCertificate(t, e, laptopFP)
	if got.Name != "laptop" || got.Type != api.CertificateTypeClient || got.Fingerprint != laptopFP ||
		got.Certificate != laptopPEM || got.Restricted || got.Projects == nil || len(got.Projects) != 0 {
		t.Fatalf("got %+v, want the laptop client certificate", got)
	}

	// Without a name, the certificate's common name is used; a unique prefix finds it.
	got, _ = getCertificate(t, e, metricsFP[:12])
	if got.Fingerprint != metricsFP || got.Type != api.CertificateTypeMetrics || got.Name != metrics.Subject.CommonName ||
		!got.Restricted || len(got.Projects) != 1 || got.Projects[0] != "default" {
		t.Fatalf("got %+v, want the metrics certificate named after its common name", got)
	}

	// The trust store follows: the laptop may now use the API over TLS.
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates", nil, asClient(laptop))

	// Adding the same certificate again is a conflict and changes nothing.
	before := e.snapshot(t, certificatesStored...)
	e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/certificates",
		api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "again", Certificate: laptopPEM}})
	if after := e.snapshot(t, certificatesStored...); after != before {
		t.Fatalf("a refused duplicate changed the certificates:\nbefore %s\nafter %s", before, after)
	}

	// Deleting removes it from the store and from the trust store.
	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/certificates/"+laptopFP, nil)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/certificates/"+laptopFP, nil)
	e.expect(t, http.StatusNotFound, http.MethodDelete, "/1.0/certificates/"+laptopFP, nil)
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/certificates", nil, asClient(laptop))
	if fps := listCertificates(t, e); len(fps) != 1 || fps[0] != metricsFP {
		t.Fatalf("got %v after the delete, want only the metrics certificate", fps)
	}
}

func TestCertificateEdit(t *testing.T) {
	e := newAPIEnv(t)
	cert := newClientCert(t)
	fp := tlsutil.FingerprintDER(cert.Raw)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates",
		api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "c1", Certificate: certPEM(cert)}})
	url := "/1.0/certificates/" + fp
	current, etag := getCertificate(t, e, fp)

	// A PUT made from a stale ETag is refused and changes nothing.
	before := e.snapshot(t, certificatesStored...)
	put := current.Writable()
	put.Name = "renamed"
	res := e.expect(t, http.StatusPreconditionFailed, http.MethodPut, url, put, withHeader("If-Match", `"0123abcd"`))
	if !strings.Contains(res.Env.Error, "ETag doesn't match") {
		t.Fatalf("got error %q, want an ETag mismatch", res.Env.Error)
	}

	if after := e.snapshot(t, certificatesStored...); after != before {
		t.Fatalf("a PUT with a stale ETag changed the certificate:\nbefore %s\nafter %s", before, after)
	}

	// With the current ETag it applies, and the ETag changes with the state.
	e.expect(t, http.StatusOK, http.MethodPut, url, put, withHeader("If-Match", etag))
	current, newETag := getCertificate(t, e, fp)
	if current.Name != "renamed" || newETag == etag {
		t.Fatalf("got %+v with ETag %s (was %s), want the new name and a new ETag", current, newETag, etag)
	}

	// The old ETag is now stale, for PATCH too.
	e.expect(t, http.StatusPreconditionFailed, http.MethodPatch, url, map[string]any{"name": "x"},
		withHeader("If-Match", etag))

	// PATCH merges: only the fields given change. Without If-Match there is no condition.
	e.expect(t, http.StatusOK, http.MethodPatch, url, map[string]any{"restricted": true, "projects": []string{"default"}})
	current, _ = getCertificate(t, e, fp)
	if current.Name != "renamed" || !current.Restricted || len(current.Projects) != 1 || current.Type != "client" {
		t.Fatalf("got %+v after PATCH, want the name kept and the restriction added", current)
	}

	// PUT replaces: fields left out are reset (the type to its default).
	e.expect(t, http.StatusOK, http.MethodPut, url, map[string]any{"name": "only-name"})
	current, _ = getCertificate(t, e, fp)
	if current.Name != "only-name" || current.Restricted || len(current.Projects) != 0 || current.Type != "client" ||
		current.Certificate != certPEM(cert) {
		t.Fatalf("got %+v after PUT, want only the name set and the certificate kept", current)
	}

	// Replacing the certificate moves it to its new fingerprint.
	other := newClientCert(t)
	otherFP := tlsutil.FingerprintDER(other.Raw)
	e.expect(t, http.StatusOK, http.MethodPatch, url, map[string]any{"certificate": certPEM(other)})
	e.expect(t, http.StatusNotFound, http.MethodGet, url, nil)
	current, _ = getCertificate(t, e, otherFP)
	if current.Name != "only-name" {
		t.Fatalf("got %+v at the new fingerprint, want the renamed entry", current)
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates", nil, asClient(other))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/certificates", nil, asClient(cert))
}

func TestCertificateTrustPassword(t *testing.T) {
	e := newAPIEnv(t)
	stranger := newClientCert(t)
	strangerFP := tlsutil.FingerprintDER(stranger.Raw)
	other := newClientCert(t)

	// Without a trust password set, no password lets anyone in.
	before := e.snapshot(t, certificatesStored...)
	e.expect(t, http.StatusForbidden, http.MethodPost, "/1.0/certificates", map[string]any{"password": "anything"},
		asClient(stranger))

	e.setConfig(t, map[string]any{"core.trust_password": "s3cret"})
	tests := []struct {
		name   string
		body   any
		client reqOption
		code   int
	}{
		{"wrong password", map[string]any{"password": "wrong"}, asClient(stranger), http.StatusForbidden},
		{"no password", map[string]any{"name": "x"}, asClient(stranger), http.StatusForbidden},
		{"password with different case", map[string]any{"password": "S3CRET"}, asClient(stranger), http.StatusForbidden},
		{"no client certificate", map[string]any{"password": "s3cret"}, asClient(nil), http.StatusBadRequest},
		{"someone else's certificate", map[string]any{"password": "s3cret", "certificate": certPEM(other)},
			asClient(stranger), http.StatusForbidden},
		{"a token for itself", map[string]any{"password": "s3cret", "token": true}, asClient(stranger),
			http.StatusForbidden},
		{"invalid type", map[string]any{"password": "s3cret", "type": "admin"}, asClient(stranger),
			http.StatusBadRequest},
		{"invalid JSON", `{"password": "s3cret"`, asClient(stranger), http.StatusBadRequest},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.expect(t, tt.code, http.MethodPost, "/1.0/certificates", tt.body, tt.client)
			if after := e.snapshot(t, certificatesStored...); after != before {
				t.Fatalf("a refused request changed the certificates:\nbefore %s\nafter %s", before, after)
			}

			e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/certificates", nil, asClient(stranger))
		})
	}

	// The right password adds the caller's own certificate, which is trusted from then on.
	res := e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates",
		map[string]any{"password": "s3cret", "name": "stranger", "certificate": certPEM(stranger)}, asClient(stranger))
	if res.Header.Get("Location") != "/1.0/certificates/"+strangerFP {
		t.Fatalf("got Location %q, want the caller's certificate", res.Header.Get("Location"))
	}

	got, _ := getCertificate(t, e, strangerFP)
	if got.Name != "stranger" || got.Type != api.CertificateTypeClient || got.Certificate != certPEM(stranger) {
		t.Fatalf("got %+v, want the caller's certificate under the name it asked for", got)
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates", nil, asClient(stranger))
	if fps := listCertificates(t, e); len(fps) != 1 {
		t.Fatalf("got %v, want only the caller's certificate", fps)
	}

	// A trusted caller adding itself again is a conflict.
	e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/certificates", map[string]any{"password": "s3cret"},
		asClient(stranger))
}

func TestCertificatesBadInput(t *testing.T) {
	e := newAPIEnv(t)
	existing := newClientCert(t)
	existingFP := tlsutil.FingerprintDER(existing.Raw)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates",
		api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "existing", Certificate: certPEM(existing)}})
	_, etag := getCertificate(t, e, existingFP)
	fresh := certPEM(newClientCert(t))
	url := "/1.0/certificates/" + existingFP

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		code   int
	}{
		{"empty body", http.MethodPost, "/1.0/certificates", "", http.StatusBadRequest},
		{"not JSON", http.MethodPost, "/1.0/certificates", "certificate", http.StatusBadRequest},
		{"trailing data", http.MethodPost, "/1.0/certificates", `{"certificate": "x"} {}`, http.StatusBadRequest},
		{"wrong field type", http.MethodPost, "/1.0/certificates", `{"name": 1}`, http.StatusBadRequest},
		{"no certificate on a local caller", http.MethodPost, "/1.0/certificates", map[string]any{"name": "x"},
			http.StatusBadRequest},
		{"garbage certificate", http.MethodPost, "/1.0/certificates", map[string]any{"certificate": "not a cert"},
			http.StatusBadRequest},
		{"base64 that is no certificate", http.MethodPost, "/1.0/certificates",
			map[string]any{"certificate": base64.StdEncoding.EncodeToString([]byte("nope"))}, http.StatusBadRequest},
		{"broken PEM", http.MethodPost, "/1.0/certificates",
			map[string]any{"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
			http.StatusBadRequest},
		{"unknown type", http.MethodPost, "/1.0/certificates", map[string]any{"certificate": fresh, "type": "admin"},
			http.StatusBadRequest},
		{"unknown project", http.MethodPost, "/1.0/certificates",
			map[string]any{"certificate": fresh, "projects": []string{"nope"}}, http.StatusBadRequest},
		{"put unknown type", http.MethodPut, url, map[string]any{"name": "x", "type": "admin"}, http.StatusBadRequest},
		{"put unknown project", http.MethodPut, url, map[string]any{"projects": []string{"p1"}}, http.StatusBadRequest},
		{"put garbage certificate", http.MethodPut, url, map[string]any{"certificate": "garbage"},
			http.StatusBadRequest},
		{"patch not JSON", http.MethodPatch, url, "{", http.StatusBadRequest},
		{"patch wrong field type", http.MethodPatch, url, `{"restricted": "yes"}`, http.StatusBadRequest},
		{"put unknown certificate", http.MethodPut, "/1.0/certificates/abcdef", map[string]any{"name": "x"},
			http.StatusNotFound},
		{"get unknown certificate", http.MethodGet, "/1.0/certificates/abcdef", nil, http.StatusNotFound},
		{"get a prefix that is no hex", http.MethodGet, "/1.0/certificates/zz", nil, http.StatusNotFound},
		{"delete unknown certificate", http.MethodDelete, "/1.0/certificates/abcdef", nil, http.StatusNotFound},
	}

	before := e.snapshot(t, certificatesStored...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.expect(t, tt.code, tt.method, tt.path, tt.body)
			if res.Env.Error == "" {
				t.Fatal("no error message")
			}

			if after := e.snapshot(t, certificatesStored...); after != before {
				t.Fatalf("a refused request changed the certificates:\nbefore %s\nafter %s", before, after)
			}
		})
	}

	if _, now := getCertificate(t, e, existingFP); now != etag {
		t.Fatal("the existing certificate's ETag changed")
	}

	// Untrusted callers may not read or change anything.
	stranger := asClient(newClientCert(t))
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/1.0/certificates"}, {http.MethodGet, url}, {http.MethodPut, url},
		{http.MethodPatch, url}, {http.MethodDelete, url},
	} {
		e.expect(t, http.StatusForbidden, req.method, req.path, map[string]any{"name": "x"}, stranger)
	}

	if after := e.snapshot(t, certificatesStored...); after != before {
		t.Fatalf("an untrusted caller changed the certificates:\nbefore %s\nafter %s", before, after)
	}
}

func TestCertificateAmbiguousPrefix(t *testing.T) {
	e := newAPIEnv(t)

	// Add certificates until two share their first hex digit: 17 are enough.
	byFirst := map[byte]string{}
	var prefix string
	for i := 0; i < 17 && prefix == ""; i++ {
		cert := newClientCert(t)
		fp := tlsutil.FingerprintDER(cert.Raw)
		e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{"certificate": certPEM(cert)})
		if byFirst[fp[0]] != "" {
			prefix = fp[:1]
		}

		byFirst[fp[0]] = fp
	}

	res := e.expect(t, http.StatusBadRequest, http.MethodGet, "/1.0/certificates/"+prefix, nil)
	if !strings.Contains(res.Env.Error, "ambiguous") {
		t.Fatalf("got error %q, want an ambiguous prefix", res.Env.Error)
	}

	before := e.snapshot(t, certificatesStored...)
	e.expect(t, http.StatusBadRequest, http.MethodDelete, "/1.0/certificates/"+prefix, nil)
	if after := e.snapshot(t, certificatesStored...); after != before {
		t.Fatalf("a delete by an ambiguous prefix changed the certificates:\nbefore %s\nafter %s", before, after)
	}
}
