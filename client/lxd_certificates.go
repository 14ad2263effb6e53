package client

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// GetCertificateFingerprints returns the fingerprints of the trusted certificates.
func (c *ProtocolLXD) GetCertificateFingerprints() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/certificates", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	fingerprints := make([]string, 0, len(urls))
	for _, u := range urls {
		fp, err := lastPathElement(u, "/1.0/certificates/")
		if err != nil {
			return nil, err
		}

		fingerprints = append(fingerprints, fp)
	}

	return fingerprints, nil
}

// GetCertificates returns the trusted certificates.
func (c *ProtocolLXD) GetCertificates() ([]api.Certificate, error) {
	certs := []api.Certificate{}
	_, err := c.queryStruct(http.MethodGet, "/certificates?recursion=1", nil, "", &certs)
	if err != nil {
		return nil, err
	}

	return certs, nil
}

// GetCertificate returns one trusted certificate, by fingerprint or unique fingerprint prefix, and its ETag.
func (c *ProtocolLXD) GetCertificate(fingerprint string) (*api.Certificate, string, error) {
	cert := api.Certificate{}
	etag, err := c.queryStruct(http.MethodGet, "/certificates/"+url.PathEscape(fingerprint), nil, "", &cert)
	if err != nil {
		return nil, "", err
	}

	return &cert, etag, nil
}

// CreateCertificate adds a trusted certificate: the one in the request, or the connection's client certificate
// when the request carries none (with a trust password or join token in Password).
func (c *ProtocolLXD) CreateCertificate(cert api.CertificatesPost) error {
	_, _, err := c.query(http.MethodPost, "/certificates", cert, "")
	return err
}

// UpdateCertificate replaces the writable fields of a trusted certificate.
func (c *ProtocolLXD) UpdateCertificate(fingerprint string, cert api.CertificatePut, etag string) error {
	_, _, err := c.query(http.MethodPut, "/certificates/"+url.PathEscape(fingerprint), cert, etag)
	return err
}

// DeleteCertificate removes a trusted certificate, by fingerprint or unique fingerprint prefix.
func (c *ProtocolLXD) DeleteCertificate(fingerprint string) error {
	_, _, err := c.query(http.MethodDelete, "/certificates/"+url.PathEscape(fingerprint), nil, "")
	return err
}

// lastPathElement returns the unescaped element of an API URL after prefix ("/1.0/certificates/<fp>" → "<fp>").
func lastPathElement(u string, prefix string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q in response: %w", u, err)
	}

	rest, ok := strings.CutPrefix(parsed.Path, prefix)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", fmt.Errorf("unexpected URL %q in response", u)
	}

	return rest, nil
}
