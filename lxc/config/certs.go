package config

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// HasClientCertificate reports whether the client key pair exists.
func (c *Config) HasClientCertificate() bool {
	_, errCert := os.Stat(c.ClientCertPath())
	_, errKey := os.Stat(c.ClientKeyPath())
	return errCert == nil && errKey == nil
}

// GenerateClientCertificate creates the client key pair unless it exists.
func (c *Config) GenerateClientCertificate() error {
	_, err := tlsutil.LoadOrGenerate(c.ClientCertPath(), c.ClientKeyPath(), true)
	return err
}

// SaveServerCert pins a remote's PEM certificate in servercerts/<remote>.crt.
func (c *Config) SaveServerCert(remote string, certPEM []byte) error {
	err := ValidateRemoteName(remote)
	if err != nil {
		return err
	}

	path := c.ServerCertPath(remote)
	err = os.MkdirAll(filepath.Dir(path), 0o750)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(path, certPEM, 0o644)
}

// RemoveServerCert removes a remote's pinned certificate, if any.
func (c *Config) RemoveServerCert(remote string) error {
	err := os.Remove(c.ServerCertPath(remote))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	return nil
}

// RenameServerCert moves a remote's pinned certificate, if any, to its new name.
func (c *Config) RenameServerCert(oldName string, newName string) error {
	err := os.Rename(c.ServerCertPath(oldName), c.ServerCertPath(newName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	return nil
}
