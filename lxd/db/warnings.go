package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Warning is a row of the warnings table: one condition of one type about one entity in one project, with how
// often and when it was seen.
type Warning struct {
	ID          int64
	UUID        string
	Location    string
	Project     string
	Type        string
	EntityURL   string
	Count       int
	FirstSeenAt time.Time
	LastSeenAt  time.Time

	// UpdatedAt is when the row last changed (an occurrence or a change of status).
	UpdatedAt   time.Time
	LastMessage string
	Severity    string
	Status      string
}

// ToAPI converts the row to its wire form.
func (w Warning) ToAPI() api.Warning {
	return api.Warning{
		UUID:        w.UUID,
		Location:    w.Location,
		Project:     w.Project,
		Type:        w.Type,
		Count:       w.Count,
		FirstSeenAt: w.FirstSeenAt,
		LastSeenAt:  w.LastSeenAt,
		LastMessage: w.LastMessage,
		Severity:    w.Severity,
		EntityURL:   w.EntityURL,
		WarningPut:  api.WarningPut{Status: w.Status},
	}
}

// WarningFilter selects warnings; a nil field matches everything.
type WarningFilter struct {
	UUID      *string
	Project   *string
	Type      *string
	EntityURL *string
	Status    *string
}

// where returns the WHERE clause and arguments of the filter.
func (f WarningFilter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(column string, v *string) {
		if v != nil {
			conds = append(conds, column+" = ?")
			args = append(args, *v)
		}
	}

	add("uuid", f.UUID)
	add("project", f.Project)
	add("type", f.Type)
	add("entity_url", f.EntityURL)
	add("status", f.Status)
	if len(conds) == 0 {
		return "", nil
	}

	return "WHERE " + strings.Join(conds, " AND "), args
}

// warningNotFound is the error for an unknown warning.
func warningNotFound(uuid string) error {
	return fmt.Errorf("warning %q: %w", uuid, errs.ErrNotFound)
}

const warningColumns = "id, uuid, location, project, type, entity_url, count, first_seen_at, last_seen_at, updated_at, " +
	"last_message, severity, status"

// GetWarnings returns the warnings matching filter, oldest first.
func (t *Tx) GetWarnings(ctx context.Context, filter WarningFilter) ([]Warning, error) {
	where, args := filter.where()
	rows, err := t.query(ctx, "SELECT "+warningColumns+" FROM warnings "+where+" ORDER BY first_seen_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("loading warnings: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Warning
	for rows.Next() {
		var w Warning
		var first, last, updated nullTime
		err = rows.Scan(&w.ID, &w.UUID, &w.Location, &w.Project, &w.Type, &w.EntityURL, &w.Count, &first, &last,
			&updated, &w.LastMessage, &w.Severity, &w.Status)
		if err != nil {
			return nil, fmt.Errorf("loading warnings: %w", err)
		}

		w.FirstSeenAt, w.LastSeenAt, w.UpdatedAt = first.Time, last.Time, updated.Time
		out = append(out, w)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading warnings: %w", mapError(err))
	}

	return out, nil
}

// GetWarning returns the warning with this UUID.
func (t *Tx) GetWarning(ctx context.Context, uuid string) (*Warning, error) {
	ws, err := t.GetWarnings(ctx, WarningFilter{UUID: &uuid})
	if err != nil {
		return nil, err
	}

	if len(ws) == 0 {
		return nil, warningNotFound(uuid)
	}

	return &ws[0], nil
}

// CreateWarning adds a warning and returns its ID. A second warning of the same type, entity, project and
// location is ErrConflict, as is a duplicate UUID.
func (t *Tx) CreateWarning(ctx context.Context, w Warning) (int64, error) {
	res, err := t.exec(ctx, `INSERT INTO warnings (uuid, location, project, type, entity_url, count, first_seen_at,
last_seen_at, updated_at, last_message, severity, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.UUID, w.Location, w.Project, w.Type, w.EntityURL, w.Count, timeArg(w.FirstSeenAt), timeArg(w.LastSeenAt),
		timeArg(w.UpdatedAt), w.LastMessage, w.Severity, w.Status)
	if err != nil {
		return 0, fmt.Errorf("creating warning %q: %w", w.Type, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("creating warning %q: %w", w.Type, err)
	}

	return id, nil
}

// UpdateWarning writes the changing fields of the warning w.UUID: count, last seen, last message, severity,
// status and the time of the change.
func (t *Tx) UpdateWarning(ctx context.Context, w Warning) error {
	n, err := t.execCount(ctx, `UPDATE warnings SET count = ?, last_seen_at = ?, last_message = ?, severity = ?,
status = ?, updated_at = ? WHERE uuid = ?`,
		w.Count, timeArg(w.LastSeenAt), w.LastMessage, w.Severity, w.Status, timeArg(w.UpdatedAt), w.UUID)
	if err != nil {
		return fmt.Errorf("updating warning %q: %w", w.UUID, err)
	}

	if n == 0 {
		return warningNotFound(w.UUID)
	}

	return nil
}

// UpdateWarningStatus sets the status of the warning uuid, recording at as the time of the change.
func (t *Tx) UpdateWarningStatus(ctx context.Context, uuid string, status string, at time.Time) error {
	n, err := t.execCount(ctx, "UPDATE warnings SET status = ?, updated_at = ? WHERE uuid = ?", status, timeArg(at), uuid)
	if err != nil {
		return fmt.Errorf("updating warning %q: %w", uuid, err)
	}

	if n == 0 {
		return warningNotFound(uuid)
	}

	return nil
}

// DeleteWarning removes the warning uuid.
func (t *Tx) DeleteWarning(ctx context.Context, uuid string) error {
	n, err := t.execCount(ctx, "DELETE FROM warnings WHERE uuid = ?", uuid)
	if err != nil {
		return fmt.Errorf("deleting warning %q: %w", uuid, err)
	}

	if n == 0 {
		return warningNotFound(uuid)
	}

	return nil
}

// DeleteWarningsResolvedBefore removes the resolved warnings that have not changed since before, and returns how
// many it removed.
func (t *Tx) DeleteWarningsResolvedBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := t.execCount(ctx, "DELETE FROM warnings WHERE status = 'resolved' AND updated_at < ?", timeArg(before))
	if err != nil {
		return 0, fmt.Errorf("deleting resolved warnings: %w", err)
	}

	return n, nil
}
