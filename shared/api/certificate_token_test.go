package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// stockToken was printed by the stock LXD 5.0.2 client for "lxc config trust add --name tok1".
const stockToken = "eyJjbGllbnRfbmFtZSI6InRvazEiLCJmaW5nZXJwcmludCI6ImRjYTZlMjYzNTIxZmEyODRmZDIzMTFlNmEzMzhhMDAwNmQ0NzM2MDA5MzIyOWQ0ZDg4MzQ1M2I0YzA1NjM0YWMiLCJhZGRyZXNzZXMiOlsiMTI3LjAuMC4xOjE4NDQzIl0sInNlY3JldCI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDciLCJleHBpcmVzX2F0IjoiMDAwMS0wMS0wMVQwMDowMDowMFoifQ=="

func TestCertificateAddTokenStockRoundTrip(t *testing.T) {
	tok, err := CertificateAddTokenDecode(stockToken)
	if err != nil {
		t.Fatal(err)
	}

	if tok.ClientName != "tok1" || tok.Addresses[0] != "127.0.0.1:18443" || len(tok.Addresses) != 1 {
		t.Fatalf("got %+v, want client tok1 at 127.0.0.1:18443", tok)
	}

	if tok.Fingerprint != "dca6e263521fa284fd2311e6a338a0006d47360093229d4d883453b4c05634ac" {
		t.Fatalf("got fingerprint %q", tok.Fingerprint)
	}

	if tok.Secret != strings.Repeat("0", 63)+"7" {
		t.Fatalf("got secret %q", tok.Secret)
	}

	if !tok.ExpiresAt.IsZero() {
		t.Fatalf("got expiry %v, want zero", tok.ExpiresAt)
	}

	got := tok.String()
	if got != stockToken {
		t.Fatalf("re-encoded token differs:\ngot  %s\nwant %s", got, stockToken)
	}
}

func TestCertificateAddTokenDecodeErrors(t *testing.T) {
	full := CertificateAddToken{ClientName: "c", Fingerprint: "ab", Addresses: []string{"127.0.0.1:8443"}, Secret: "s"}
	tests := []struct {
		name   string
		mutate func(t *CertificateAddToken)
		raw    string
		want   string
	}{
		{name: "not base64", raw: "not base64!!", want: "decode certificate add token"},
		{name: "not json", raw: "aGVsbG8=", want: "decode certificate add token"},
		{name: "no name", mutate: func(t *CertificateAddToken) { t.ClientName = "" }, want: "no client name"},
		{name: "no addresses", mutate: func(t *CertificateAddToken) { t.Addresses = nil }, want: "no server addresses"},
		{name: "no fingerprint", mutate: func(t *CertificateAddToken) { t.Fingerprint = "" }, want: "no certificate fingerprint"},
		{name: "no secret", mutate: func(t *CertificateAddToken) { t.Secret = "" }, want: "no secret"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if tc.mutate != nil {
				tok := full
				tc.mutate(&tok)
				raw = tok.String()
			}

			_, err := CertificateAddTokenDecode(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// Whitespace around a valid token and missing padding are tolerated.
	tok, err := CertificateAddTokenDecode("  " + strings.TrimRight(full.String(), "=") + "\n")
	if err != nil {
		t.Fatalf("got %v for an unpadded token", err)
	}

	if tok.Secret != "s" {
		t.Fatalf("got secret %q, want s", tok.Secret)
	}
}

func TestOperationToCertificateAddToken(t *testing.T) {
	// The async envelope's metadata as a 5.0.2 daemon sends it, decoded the way the client decodes it.
	raw := `{"id":"0a3b","class":"token","description":"Executing operation","status":"Running","status_code":103,
		"metadata":{"addresses":["127.0.0.1:8444","[::1]:8444"],"fingerprint":"7ff3","secret":"c0ffee",
		"request":{"name":"probe-tok","type":"client","restricted":false,"projects":null,"certificate":"","password":"","token":true}}}`
	var op Operation
	err := json.Unmarshal([]byte(raw), &op)
	if err != nil {
		t.Fatal(err)
	}

	tok, err := op.ToCertificateAddToken()
	if err != nil {
		t.Fatal(err)
	}

	want := CertificateAddToken{ClientName: "probe-tok", Fingerprint: "7ff3", Addresses: []string{"127.0.0.1:8444", "[::1]:8444"}, Secret: "c0ffee"}
	if tok.String() != want.String() {
		t.Fatalf("got %+v, want %+v", tok, want)
	}

	op.Metadata["expiresAt"] = "2030-01-02T03:04:05Z"
	tok, err = op.ToCertificateAddToken()
	if err != nil {
		t.Fatal(err)
	}

	if !tok.ExpiresAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("got expiry %v", tok.ExpiresAt)
	}

	op.Class = "task"
	_, err = op.ToCertificateAddToken()
	if err == nil {
		t.Fatal("a task operation was turned into a token")
	}

	op.Class = "token"
	delete(op.Metadata, "request")
	_, err = op.ToCertificateAddToken()
	if err == nil {
		t.Fatal("an operation without a request was turned into a token")
	}
}
