package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// trustEntry is what authenticating a TLS caller needs of a certificate of the trust store.
type trustEntry struct {
	certType   string
	restricted bool
	projects   []string
}

// reloadTrust reads the fingerprints, types and restrictions of the trusted certificates from the database.
func (d *Daemon) reloadTrust(ctx context.Context) error {
	trusted := map[string]trustEntry{}
	err := d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		certs, err := tx.GetCertificates(ctx)
		if err != nil {
			return err
		}

		for _, c := range certs {
			trusted[c.Fingerprint] = trustEntry{certType: c.Type, restricted: c.Restricted, projects: c.Projects}
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("load trusted certificates: %w", err)
	}

	d.trusted.Store(&trusted)
	return nil
}

// authenticateTLS identifies a TLS caller by its client certificate: trusted when the certificate is in the trust
// store as a client certificate and within its validity period. A metrics certificate leaves the caller untrusted
// and only records its type, which the metrics endpoint alone accepts.
func (d *Daemon) authenticateTLS(cs *tls.ConnectionState, addr string) *request.Requestor {
	req := &request.Requestor{Protocol: "tls", Address: addr}
	if len(cs.PeerCertificates) == 0 {
		return req
	}

	cert := cs.PeerCertificates[0]
	req.Certificate = cert.Raw
	req.Fingerprint = tlsutil.FingerprintDER(cert.Raw)

	now := time.Now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return req
	}

	// Members of the cluster authenticate to each other with the cluster certificate.
	if d.gateway != nil && d.gateway.Authorized(cs) {
		req.Trusted = true
		req.Username = req.Fingerprint
		req.CertificateType = api.CertificateTypeServer
		return req
	}

	trusted := d.trusted.Load()
	if trusted == nil {
		return req
	}

	entry := (*trusted)[req.Fingerprint]
	req.CertificateType = entry.certType
	if req.CertificateType == api.CertificateTypeClient {
		req.Trusted = true
		req.Username = req.Fingerprint
		req.Restricted = entry.restricted
		req.Projects = entry.projects
	}

	return req
}
