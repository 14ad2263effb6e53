package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Certificate is a trusted certificate row with its projects.
type Certificate struct {
	ID          int64
	Fingerprint string
	Type        string
	Name        string
	Certificate string
	Restricted  bool
	Projects    []string
}

// ToAPI converts the row to its wire form. Projects is never nil, so it
// renders as [] rather than null.
func (c Certificate) ToAPI() api.Certificate {
	projects := make([]string, len(c.Projects))
	copy(projects, c.Projects)

	return api.Certificate{
		CertificatePut: api.CertificatePut{
			Name:        c.Name,
			Type:        c.Type,
			Restricted:  c.Restricted,
			Projects:    projects,
			Certificate: c.Certificate,
		},
		Fingerprint: c.Fingerprint,
	}
}

// certificateNotFound is the error for an unknown certificate.
func certificateNotFound(fingerprint string) error {
	return fmt.Errorf("certificate %q: %w", fingerprint, errs.ErrNotFound)
}

const certificateColumns = "id, fingerprint, type, name, certificate, restricted"

// scanCertificates reads rows of certificateColumns.
func (t *Tx) scanCertificates(ctx context.Context, where string, args ...any) ([]Certificate, error) {
	rows, err := t.query(ctx, "SELECT "+certificateColumns+" FROM certificates "+where+" ORDER BY fingerprint", args...)
	if err != nil {
		return nil, err
	}

	defer func() { _ = rows.Close() }()

	var certs []Certificate
	for rows.Next() {
		var c Certificate
		err = rows.Scan(&c.ID, &c.Fingerprint, &c.Type, &c.Name, &c.Certificate, &c.Restricted)
		if err != nil {
			return nil, err
		}

		certs = append(certs, c)
	}

	err = rows.Err()
	if err != nil {
		return nil, mapError(err)
	}

	return certs, nil
}

// loadCertificateProjects fills in Projects, in one query for all certs.
func (t *Tx) loadCertificateProjects(ctx context.Context, certs []Certificate) error {
	if len(certs) == 0 {
		return nil
	}

	index := make(map[int64]int, len(certs))
	for i := range certs {
		index[certs[i].ID] = i
	}

	query := "SELECT certificate_id, project FROM certificates_projects ORDER BY project"
	var args []any
	if len(certs) == 1 {
		query = "SELECT certificate_id, project FROM certificates_projects WHERE certificate_id = ? ORDER BY project"
		args = append(args, certs[0].ID)
	}

	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}

	defer func() { _ = rows.Close() }()

	for rows.Next() {
		var id int64
		var project string
		err = rows.Scan(&id, &project)
		if err != nil {
			return err
		}

		i, ok := index[id]
		if ok {
			certs[i].Projects = append(certs[i].Projects, project)
		}
	}

	return mapError(rows.Err())
}

// GetCertificates returns every trusted certificate, ordered by fingerprint.
func (t *Tx) GetCertificates(ctx context.Context) ([]Certificate, error) {
	certs, err := t.scanCertificates(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("loading certificates: %w", err)
	}

	err = t.loadCertificateProjects(ctx, certs)
	if err != nil {
		return nil, fmt.Errorf("loading certificate projects: %w", err)
	}

	return certs, nil
}

// GetCertificate returns the certificate with exactly this fingerprint.
func (t *Tx) GetCertificate(ctx context.Context, fingerprint string) (*Certificate, error) {
	certs, err := t.scanCertificates(ctx, "WHERE fingerprint = ?", fingerprint)
	if err != nil {
		return nil, fmt.Errorf("loading certificate %q: %w", fingerprint, err)
	}

	if len(certs) == 0 {
		return nil, certificateNotFound(fingerprint)
	}

	err = t.loadCertificateProjects(ctx, certs)
	if err != nil {
		return nil, fmt.Errorf("loading projects of certificate %q: %w", fingerprint, err)
	}

	return &certs[0], nil
}

// GetCertificateByPrefix returns the one certificate whose fingerprint starts
// with prefix (hex, any case). No match is ErrNotFound; several are an
// ErrInvalid saying the prefix is ambiguous.
func (t *Tx) GetCertificateByPrefix(ctx context.Context, prefix string) (*Certificate, error) {
	pattern, ok := prefixPattern(prefix)
	if !ok {
		return nil, certificateNotFound(prefix)
	}

	rows, err := t.query(ctx, "SELECT fingerprint FROM certificates WHERE fingerprint GLOB ? ORDER BY fingerprint LIMIT 2", pattern)
	if err != nil {
		return nil, fmt.Errorf("looking up certificate %q: %w", prefix, err)
	}

	fps, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("looking up certificate %q: %w", prefix, err)
	}

	switch len(fps) {
	case 0:
		return nil, certificateNotFound(prefix)
	case 1:
		return t.GetCertificate(ctx, fps[0])
	default:
		return nil, fmt.Errorf("certificate prefix %q is ambiguous: %w", prefix, errs.ErrInvalid)
	}
}

// CreateCertificate adds a trusted certificate with its projects and returns
// its ID. A duplicate fingerprint is ErrConflict.
func (t *Tx) CreateCertificate(ctx context.Context, c Certificate) (int64, error) {
	err := checkFingerprint("certificate", c.Fingerprint)
	if err != nil {
		return 0, err
	}

	res, err := t.exec(ctx, "INSERT INTO certificates (fingerprint, type, name, certificate, restricted) VALUES (?, ?, ?, ?, ?)",
		c.Fingerprint, c.Type, c.Name, c.Certificate, c.Restricted)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("certificate %q: %w", c.Fingerprint, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating certificate %q: %w", c.Fingerprint, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("creating certificate %q: %w", c.Fingerprint, err)
	}

	err = t.setCertificateProjects(ctx, id, c.Projects)
	if err != nil {
		return 0, fmt.Errorf("creating certificate %q: %w", c.Fingerprint, err)
	}

	return id, nil
}

// setCertificateProjects replaces the projects of a certificate.
func (t *Tx) setCertificateProjects(ctx context.Context, id int64, projects []string) error {
	_, err := t.exec(ctx, "DELETE FROM certificates_projects WHERE certificate_id = ?", id)
	if err != nil {
		return fmt.Errorf("clearing projects: %w", err)
	}

	projects = slices.Clone(projects)
	slices.Sort(projects)
	for _, p := range slices.Compact(projects) {
		_, err = t.exec(ctx, "INSERT INTO certificates_projects (certificate_id, project) VALUES (?, ?)", id, p)
		if err != nil {
			return fmt.Errorf("adding project %q: %w", p, err)
		}
	}

	return nil
}

// UpdateCertificate replaces the certificate identified by fingerprint with c,
// projects included. An empty c.Fingerprint keeps the current one; a new
// fingerprint that another certificate has is ErrConflict.
func (t *Tx) UpdateCertificate(ctx context.Context, fingerprint string, c Certificate) error {
	newFP := c.Fingerprint
	if newFP == "" {
		newFP = fingerprint
	}

	err := checkFingerprint("certificate", newFP)
	if err != nil {
		return err
	}

	id, err := t.lookupID(ctx, certificateNotFound(fingerprint), "SELECT id FROM certificates WHERE fingerprint = ?", fingerprint)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE certificates SET fingerprint = ?, type = ?, name = ?, certificate = ?, restricted = ? WHERE id = ?",
		newFP, c.Type, c.Name, c.Certificate, c.Restricted, id)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("certificate %q: %w", newFP, errs.ErrConflict)
		}

		return fmt.Errorf("updating certificate %q: %w", fingerprint, err)
	}

	err = t.setCertificateProjects(ctx, id, c.Projects)
	if err != nil {
		return fmt.Errorf("updating certificate %q: %w", fingerprint, err)
	}

	return nil
}

// DeleteCertificate removes a certificate and its projects.
func (t *Tx) DeleteCertificate(ctx context.Context, fingerprint string) error {
	n, err := t.execCount(ctx, "DELETE FROM certificates WHERE fingerprint = ?", fingerprint)
	if err != nil {
		return fmt.Errorf("deleting certificate %q: %w", fingerprint, err)
	}

	if n == 0 {
		return certificateNotFound(fingerprint)
	}

	return nil
}

// DeleteServerCertificates removes the server certificates called name: those a join token admitted for a member
// that is removed.
func (t *Tx) DeleteServerCertificates(ctx context.Context, name string) error {
	_, err := t.exec(ctx, "DELETE FROM certificates WHERE type = 'server' AND name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting the server certificates of %q: %w", name, err)
	}

	return nil
}
