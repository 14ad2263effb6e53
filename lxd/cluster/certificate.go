package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// newSuffix marks the files of a certificate being replaced.
const newSuffix = ".new"

// UpdateCertificate replaces the cluster certificate and key with the PEM pair given: it is checked first, then
// written beside the current files and renamed over them, the key first. The member's listeners and database
// connections use it from then on.
func (m *Manager) UpdateCertificate(ctx context.Context, certPEM []byte, keyPEM []byte) (*tlsutil.CertInfo, error) {
	if !m.Clustered() {
		return nil, notClustered()
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, errs.Invalid("invalid cluster certificate or key: %v", err)
	}

	_, err = tlsutil.ParseCertPEM(certPEM)
	if err != nil {
		return nil, errs.Invalid("invalid cluster certificate: %v", err)
	}

	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	p := m.args.Paths
	err = fsutil.WriteFileAtomic(p.ClusterKey+newSuffix, keyPEM, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing the cluster key: %w", err)
	}

	err = fsutil.WriteFileAtomic(p.ClusterCert+newSuffix, certPEM, 0o644)
	if err != nil {
		_ = os.Remove(p.ClusterKey + newSuffix)
		return nil, fmt.Errorf("writing the cluster certificate: %w", err)
	}

	err = m.installNewCertificate()
	if err != nil {
		return nil, err
	}

	cert := &tlsutil.CertInfo{KeyPair: pair, PEM: certPEM}
	m.mu.Lock()
	m.cert = cert
	m.mu.Unlock()
	m.args.Gateway.setCertificate(cert)
	if m.args.OnCertificate != nil {
		m.args.OnCertificate(cert)
	}

	return cert, nil
}

// installNewCertificate renames the written ".new" files over the cluster certificate: the key, then the
// certificate. A crash between the two leaves the new certificate beside the new key, which LoadCertificate
// completes.
func (m *Manager) installNewCertificate() error {
	p := m.args.Paths
	_, err := os.Stat(p.ClusterKey + newSuffix)
	if err == nil {
		err = os.Rename(p.ClusterKey+newSuffix, p.ClusterKey)
		if err != nil {
			return fmt.Errorf("installing the cluster key: %w", err)
		}
	}

	err = os.Rename(p.ClusterCert+newSuffix, p.ClusterCert)
	if err != nil {
		return fmt.Errorf("installing the cluster certificate: %w", err)
	}

	return fsutil.SyncDir(filepath.Dir(p.ClusterCert))
}

// completeCertificateUpdate finishes an update of the cluster certificate that a crash interrupted: a new
// certificate whose key is installed (or still beside it) is installed too; one whose key was never written is
// dropped.
func (m *Manager) completeCertificateUpdate() error {
	p := m.args.Paths
	newCert, err := os.ReadFile(p.ClusterCert + newSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}

	if err != nil {
		return err
	}

	keyPath := p.ClusterKey + newSuffix
	_, err = os.Stat(keyPath)
	if err != nil {
		keyPath = p.ClusterKey
	}

	keyPEM, err := os.ReadFile(keyPath)
	if err == nil {
		_, err = tls.X509KeyPair(newCert, keyPEM)
	}

	if err != nil {
		// The new certificate does not go with any key on disk: the update never reached its renames.
		_ = os.Remove(p.ClusterCert + newSuffix)
		_ = os.Remove(p.ClusterKey + newSuffix)
		return nil
	}

	return m.installNewCertificate()
}
