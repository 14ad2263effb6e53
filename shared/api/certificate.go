package api

import "time"

// Certificate types.
const (
	CertificateTypeClient  = "client"
	CertificateTypeMetrics = "metrics"
	CertificateTypeServer  = "server"
)

// CertificatePut is the writable part of a trusted certificate.
type CertificatePut struct {
	// Name is the certificate's name.
	// Example: laptop
	Name string `json:"name" yaml:"name"`

	// Type is client or metrics.
	// Example: client
	Type string `json:"type" yaml:"type"`

	// Restricted limits the certificate to its projects.
	// Example: false
	Restricted bool `json:"restricted" yaml:"restricted"`

	// Projects the certificate may reach when restricted.
	// Example: ["default"]
	Projects []string `json:"projects" yaml:"projects"`

	// Certificate is the PEM certificate.
	Certificate string `json:"certificate" yaml:"certificate"`
}

// Certificate is a trusted client certificate.
type Certificate struct {
	CertificatePut `yaml:",inline"`

	// Fingerprint is the SHA-256 fingerprint of the certificate.
	// Example: fd200419b271f1dc2a5591b693cc5774b7f234e1ff8c6b78ad703b6888fe2b69
	Fingerprint string `json:"fingerprint" yaml:"fingerprint"`
}

// Writable returns the writable part of the certificate.
func (c *Certificate) Writable() CertificatePut {
	return c.CertificatePut
}

// CertificatesPost adds a trusted certificate or asks for a join token.
type CertificatesPost struct {
	CertificatePut `yaml:",inline"`

	// Password is the trust password or a join token.
	// Example: blah
	Password string `json:"password" yaml:"password"`

	// Token asks for a join token instead of adding a certificate.
	// Example: true
	Token bool `json:"token" yaml:"token"`
}

// CertificateAddToken is the decoded form of a join token.
type CertificateAddToken struct {
	// ClientName is the name the certificate will get.
	// Example: laptop
	ClientName string `json:"client_name" yaml:"client_name"`

	// Fingerprint is the server certificate's fingerprint.
	// Example: 57bb0ff4340b5bb28517e062023101adf788c37846dc8b619eb2c3cb4ef29436
	Fingerprint string `json:"fingerprint" yaml:"fingerprint"`

	// Addresses the server listens on.
	// Example: ["127.0.0.1:8443"]
	Addresses []string `json:"addresses" yaml:"addresses"`

	// Secret is the token's secret.
	// Example: 2b2284d44db32675923fe0d2020477e0e9be11801ff70c435e032b97028c35cd
	Secret string `json:"secret" yaml:"secret"`

	// ExpiresAt is when the token stops being valid; zero means never.
	// Example: 0001-01-01T00:00:00Z
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`
}
