package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// NewJoinToken prepares a join token for a new member called name: the metadata of the token operation that
// POST /1.0/cluster/members starts (serverName, secret, fingerprint, addresses and expiresAt, as LXD's), from which
// the client builds the token string. The token expires after cluster.join_token_expiry.
func (m *Manager) NewJoinToken(ctx context.Context, name string) (map[string]any, error) {
	if !m.Clustered() {
		return nil, notClustered()
	}

	err := ValidMemberName(name)
	if err != nil {
		return nil, err
	}

	cert := m.Certificate()
	if cert == nil {
		return nil, errors.New("this member has no cluster certificate")
	}

	expiresAt, err := config.Expiry(m.args.Config().Get(config.JoinTokenExpiry), time.Now())
	if err != nil {
		return nil, err
	}

	// The members that answer come first: a joiner tries the addresses in order.
	members, err := m.Members(ctx)
	if err != nil {
		return nil, err
	}

	addresses := []string{m.Address()}
	for _, member := range members {
		if member.ServerName == name {
			return nil, errs.Conflict("The cluster already has a member with name: %s", name)
		}

		addr := strings.TrimPrefix(member.URL, "https://")
		if member.Status == StatusOnline && addr != m.Address() {
			addresses = append(addresses, addr)
		}
	}

	secret := make([]byte, 32)
	_, err = rand.Read(secret)
	if err != nil {
		return nil, err
	}

	md := map[string]any{
		"serverName":  name,
		"secret":      hex.EncodeToString(secret),
		"fingerprint": cert.Fingerprint(),
		"addresses":   addresses,
	}

	if !expiresAt.IsZero() {
		md["expiresAt"] = expiresAt
	}

	return md, nil
}

// DecodeJoinToken reads a join token (api.ParseClusterMemberJoinToken) and refuses an expired one.
func DecodeJoinToken(token string) (*api.ClusterMemberJoinToken, error) {
	t, err := api.ParseClusterMemberJoinToken(token)
	if err != nil {
		return nil, errs.Invalid("Invalid cluster join token: %v", err)
	}

	if !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt) {
		return nil, errs.Invalid("The cluster join token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}

	return t, nil
}

// TrustedJoiner reports whether a certificate, by fingerprint, is the one a join token admitted for member name:
// in the trust store as a server certificate with that name.
func TrustedJoiner(ctx context.Context, tx *db.Tx, fingerprint string, name string) error {
	cert, err := tx.GetCertificate(ctx, fingerprint)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.Forbidden("this server's certificate is not trusted by the cluster: join with a token")
	}

	if err != nil {
		return err
	}

	if cert.Type != api.CertificateTypeServer || cert.Name != name {
		return errs.Forbidden("this server's certificate was not admitted for member %q", name)
	}

	return nil
}
