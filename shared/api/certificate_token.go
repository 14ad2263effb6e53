package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// String encodes the token as clients exchange it: base64 (standard, padded) of its JSON form.
func (t *CertificateAddToken) String() string {
	data, err := json.Marshal(t)
	if err != nil {
		// A struct of strings and a time always marshals.
		return ""
	}

	return base64.StdEncoding.EncodeToString(data)
}

// Validate reports the first field a usable token lacks.
func (t *CertificateAddToken) Validate() error {
	switch {
	case t.ClientName == "":
		return errors.New("no client name in certificate add token")
	case len(t.Addresses) == 0:
		return errors.New("no server addresses in certificate add token")
	case t.Fingerprint == "":
		return errors.New("no certificate fingerprint in certificate add token")
	case t.Secret == "":
		return errors.New("no secret in certificate add token")
	}

	return nil
}

// CertificateAddTokenDecode decodes and validates a token string as produced by CertificateAddToken.String.
// Surrounding whitespace and unpadded or URL-safe base64 are accepted.
func CertificateAddTokenDecode(s string) (*CertificateAddToken, error) {
	s = strings.TrimSpace(s)
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		data, err = enc.DecodeString(s)
		if err == nil {
			break
		}
	}

	if err != nil {
		return nil, fmt.Errorf("decode certificate add token: %w", err)
	}

	var t CertificateAddToken
	err = json.Unmarshal(data, &t)
	if err != nil {
		return nil, fmt.Errorf("decode certificate add token: %w", err)
	}

	err = t.Validate()
	if err != nil {
		return nil, err
	}

	return &t, nil
}

// ToCertificateAddToken rebuilds the join token from a token operation created by POST /1.0/certificates with
// "token": true. Its metadata holds addresses, fingerprint, secret, the original request (whose name becomes the
// client name) and optionally expiresAt.
func (op *Operation) ToCertificateAddToken() (*CertificateAddToken, error) {
	if op.Class != string(OperationClassToken) {
		return nil, fmt.Errorf("operation %q is a %s operation, not a token", op.ID, op.Class)
	}

	md := op.Metadata
	req, ok := md["request"].(map[string]any)
	if !ok {
		return nil, errors.New("operation metadata has no certificate request")
	}

	t := CertificateAddToken{}
	t.ClientName, _ = req["name"].(string)
	t.Fingerprint, _ = md["fingerprint"].(string)
	t.Secret, _ = md["secret"].(string)
	switch addrs := md["addresses"].(type) {
	case []string:
		t.Addresses = addrs
	case []any:
		for _, a := range addrs {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("invalid address %v in operation metadata", a)
			}

			t.Addresses = append(t.Addresses, s)
		}
	}

	switch exp := md["expiresAt"].(type) {
	case time.Time:
		t.ExpiresAt = exp
	case string:
		if exp != "" {
			parsed, err := time.Parse(time.RFC3339Nano, exp)
			if err != nil {
				return nil, fmt.Errorf("invalid expiry %q in operation metadata: %w", exp, err)
			}

			t.ExpiresAt = parsed
		}
	}

	err := t.Validate()
	if err != nil {
		return nil, err
	}

	return &t, nil
}
