// Package tlsutil generates and loads the certificates servers and clients identify themselves with, and builds
// their TLS configurations (TLS 1.3 only, as the stock LXD client and daemon require).
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/shared/fsutil"
)

// CertInfo is a loaded key pair.
type CertInfo struct {
	KeyPair tls.Certificate

	// PEM is the certificate in PEM form.
	PEM []byte
}

// Fingerprint returns the SHA-256 fingerprint of the leaf certificate.
func (c *CertInfo) Fingerprint() string {
	return FingerprintDER(c.KeyPair.Certificate[0])
}

// FingerprintDER returns the hex SHA-256 of a DER certificate.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// CertPEM encodes a certificate as PEM.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// ParseCertPEM parses one PEM certificate, accepting surrounding whitespace.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}

	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}

	return cert, nil
}

// FingerprintPEM returns the fingerprint of a PEM certificate.
func FingerprintPEM(data []byte) (string, error) {
	cert, err := ParseCertPEM(data)
	if err != nil {
		return "", err
	}

	return FingerprintDER(cert.Raw), nil
}

// LoadOrGenerate loads the pair at certPath/keyPath, generating a new ECDSA P-384 pair first when neither exists.
func LoadOrGenerate(certPath, keyPath string, client bool) (*CertInfo, error) {
	_, errCert := os.Stat(certPath)
	_, errKey := os.Stat(keyPath)
	if errors.Is(errCert, os.ErrNotExist) && errors.Is(errKey, os.ErrNotExist) {
		err := Generate(certPath, keyPath, client)
		if err != nil {
			return nil, err
		}
	}

	return Load(certPath, keyPath)
}

// Load reads a PEM key pair.
func Load(certPath, keyPath string) (*CertInfo, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}

	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load key pair %q: %w", certPath, err)
	}

	return &CertInfo{KeyPair: pair, PEM: certPEM}, nil
}

// Generate writes a new self-signed ECDSA P-384 certificate valid for ten years, with the host name as DNS SAN.
func Generate(certPath, keyPath string, client bool) error {
	certPEM, keyPEM, err := GeneratePEM(client)
	if err != nil {
		return err
	}

	err = os.MkdirAll(filepath.Dir(certPath), 0o750)
	if err != nil {
		return err
	}

	err = fsutil.WriteFileAtomic(keyPath, keyPEM, 0o600)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(certPath, certPEM, 0o644)
}

// GeneratePEM returns a new self-signed certificate and key in PEM form.
func GeneratePEM(client bool) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}

	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "localhost"
	}

	username := "root"
	u, err := user.Current()
	if err == nil {
		username = u.Username
	}

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}

	now := time.Now()
	tmpl := x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"linuxcontainers.org"},
			CommonName:   username + "@" + hostname,
		},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}

	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{hostname}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
		addrs, err := net.InterfaceAddrs()
		if err == nil {
			for _, a := range addrs {
				ipNet, ok := a.(*net.IPNet)
				if ok && !ipNet.IP.IsLoopback() && !ipNet.IP.IsLinkLocalUnicast() {
					tmpl.IPAddresses = append(tmpl.IPAddresses, ipNet.IP)
				}
			}
		}
	}

	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}

	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// ServerConfig returns the TLS configuration of the HTTPS listener: TLS 1.3, client certificates requested but
// not required (untrusted callers may still read public data).
func ServerConfig(cert *CertInfo) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert.KeyPair},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"http/1.1"},
	}
}

// ClientConfig returns the TLS configuration of a client. With serverPEM set, that certificate is the only one
// trusted (pinned), and the server name is taken from it so that IP-addressed remotes verify. Without it the system
// trust store is used.
func ClientConfig(clientCert *CertInfo, serverPEM []byte) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{clientCert.KeyPair}
	}

	if len(serverPEM) == 0 {
		return cfg, nil
	}

	pinned, err := ParseCertPEM(serverPEM)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}

	// A pinned certificate is trusted by identity, whatever name it was issued for.
	cfg.InsecureSkipVerify = true
	cfg.VerifyPeerCertificate = func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) == 0 {
			return errors.New("server sent no certificate")
		}

		leaf, err := x509.ParseCertificate(rawCerts[0])
		if err != nil {
			return err
		}

		if !leaf.Equal(pinned) {
			return fmt.Errorf("server certificate %s does not match the pinned certificate %s",
				FingerprintDER(leaf.Raw)[:12], FingerprintDER(pinned.Raw)[:12])
		}

		return nil
	}

	return cfg, nil
}
