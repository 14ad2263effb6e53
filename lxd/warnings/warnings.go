// Package warnings records the conditions the daemon finds that need an operator's attention (AppArmor missing, no
// id map for unprivileged containers, missing helper programs), counts their recurrences, marks them resolved when
// they go away, and lets an operator acknowledge or delete them. It never renders HTTP: errors are lxd/errs classes.
package warnings

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Warning types the daemon records. The names are the warning's "type" on the wire; where LXD has the same
// condition, the name is LXD's.
const (
	// TypeAppArmorNotAvailable is LXD's type for a host without AppArmor: containers run without a profile.
	TypeAppArmorNotAvailable = "AppArmor support has been disabled"

	// TypeMissingIDMap is a host without a subordinate id range for root: every container runs privileged.
	TypeMissingIDMap = "Missing subordinate ID range for root"

	// TypeStoragePoolSizeNotEnforced is a storage pool given volume sizes it cannot enforce (a dir pool on a file
	// system without project quotas): the sizes are accepted, as LXD accepts them, and not applied.
	TypeStoragePoolSizeNotEnforced = "Storage pool size limits not enforced"
)

// TypeMissingProgram is the type of a missing optional program, named after it as LXD's "Missing virtiofsd".
func TypeMissingProgram(name string) string {
	return "Missing " + name
}

// severities are the severities of the types that are not low.
var severities = map[string]string{
	TypeMissingIDMap: api.WarningSeverityModerate,
}

// Severity returns the severity of a warning type: low unless the type says otherwise.
func Severity(typ string) string {
	s, ok := severities[typ]
	if ok {
		return s
	}

	return api.WarningSeverityLow
}

// Entity is what a warning is about: an API object in a project, or the server itself (the zero Entity).
type Entity struct {
	// Project is the project of the entity; empty for server-wide warnings.
	Project string

	// URL is the API path of the entity; empty for the server itself.
	URL string
}

// Server is the entity of the warnings about the server itself.
var Server = Entity{}

// Filter selects warnings in List; a nil field matches every warning.
type Filter struct {
	// Project keeps the warnings of one project.
	Project *string

	// Status keeps the warnings with this status.
	Status *string
}

// ManagerArgs are what a Manager works with.
type ManagerArgs struct {
	DB *db.DB

	// Location is the cluster member name recorded with each warning; empty when not clustered.
	Location string

	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Manager records, lists and changes warnings.
type Manager struct {
	db       *db.DB
	location string
	now      func() time.Time
}

// NewManager returns a Manager over args.
func NewManager(args ManagerArgs) *Manager {
	now := args.Now
	if now == nil {
		now = time.Now
	}

	return &Manager{db: args.DB, location: args.Location, now: now}
}

// Record notes an occurrence of a warning of type typ about entity. The first occurrence creates a new warning;
// later ones add to its count and replace its last message and last seen time. A resolved warning that recurs is new
// again; an acknowledged one stays acknowledged.
func (m *Manager) Record(ctx context.Context, typ string, entity Entity, message string) error {
	if typ == "" {
		return errs.Invalid("warning type is empty")
	}

	now := m.now().UTC()
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		w, err := m.find(ctx, tx, typ, entity)
		if err != nil {
			return err
		}

		if w == nil {
			_, err = tx.CreateWarning(ctx, db.Warning{
				UUID: newUUID(), Location: m.location, Project: entity.Project, Type: typ, EntityURL: entity.URL,
				Count: 1, FirstSeenAt: now, LastSeenAt: now, UpdatedAt: now, LastMessage: message,
				Severity: Severity(typ), Status: api.WarningStatusNew,
			})
			return err
		}

		w.Count++
		w.LastSeenAt, w.UpdatedAt, w.LastMessage, w.Severity = now, now, message, Severity(typ)
		if w.Status == api.WarningStatusResolved {
			w.Status = api.WarningStatusNew
		}

		return tx.UpdateWarning(ctx, *w)
	})
	if err != nil {
		return fmt.Errorf("recording warning %q: %w", typ, err)
	}

	slog.Debug("warning recorded", "type", typ, "entity", entity.URL, "project", entity.Project, "message", message)
	return nil
}

// Resolve marks the warning of type typ about entity resolved, when there is one that is not already. It is not an
// error that there is none: the condition may never have happened.
func (m *Manager) Resolve(ctx context.Context, typ string, entity Entity) error {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		w, err := m.find(ctx, tx, typ, entity)
		if err != nil || w == nil || w.Status == api.WarningStatusResolved {
			return err
		}

		return tx.UpdateWarningStatus(ctx, w.UUID, api.WarningStatusResolved, m.now().UTC())
	})
	if err != nil {
		return fmt.Errorf("resolving warning %q: %w", typ, err)
	}

	return nil
}

// find returns this member's warning of type typ about entity, or nil when there is none.
func (m *Manager) find(ctx context.Context, tx *db.Tx, typ string, entity Entity) (*db.Warning, error) {
	ws, err := tx.GetWarnings(ctx, db.WarningFilter{Type: &typ, EntityURL: &entity.URL, Project: &entity.Project})
	if err != nil {
		return nil, err
	}

	for i := range ws {
		if ws[i].Location == m.location {
			return &ws[i], nil
		}
	}

	return nil, nil
}

// List returns the warnings matching filter, oldest first; never nil.
func (m *Manager) List(ctx context.Context, filter Filter) ([]api.Warning, error) {
	out := []api.Warning{}
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		ws, err := tx.GetWarnings(ctx, db.WarningFilter{Project: filter.Project, Status: filter.Status})
		for _, w := range ws {
			out = append(out, w.ToAPI())
		}

		return err
	})
	if err != nil {
		return nil, err
	}

	return out, nil
}

// Get returns the warning uuid; an unknown one is errs.ErrNotFound.
func (m *Manager) Get(ctx context.Context, uuid string) (*api.Warning, error) {
	var out api.Warning
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		w, err := tx.GetWarning(ctx, uuid)
		if err != nil {
			return err
		}

		out = w.ToAPI()
		return nil
	})
	if err != nil {
		return nil, notFound(uuid, err)
	}

	return &out, nil
}

// SetStatus changes the status of the warning uuid to acknowledged or new, as an operator does. Any other status is
// refused: an unknown one is errs.ErrInvalid, "resolved" (which only the daemon decides) errs.ErrForbidden.
func (m *Manager) SetStatus(ctx context.Context, uuid string, status string) error {
	switch status {
	case api.WarningStatusAcknowledged, api.WarningStatusNew:
	case api.WarningStatusResolved:
		return errs.Forbidden("status may only be set to %q or %q", api.WarningStatusAcknowledged, api.WarningStatusNew)
	default:
		return errs.Invalid("invalid warning status %q: it may be %q or %q", status, api.WarningStatusAcknowledged,
			api.WarningStatusNew)
	}

	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateWarningStatus(ctx, uuid, status, m.now().UTC())
	})

	return notFound(uuid, err)
}

// Delete removes the warning uuid; an unknown one is errs.ErrNotFound.
func (m *Manager) Delete(ctx context.Context, uuid string) error {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteWarning(ctx, uuid)
	})

	return notFound(uuid, err)
}

// ResolvedRetention is how long a resolved warning is kept, as LXD keeps them, before PruneResolved removes it.
const ResolvedRetention = 24 * time.Hour

// PruneResolved removes the warnings resolved for longer than ResolvedRetention and returns how many it removed.
func (m *Manager) PruneResolved(ctx context.Context) (int64, error) {
	var n int64
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		n, err = tx.DeleteWarningsResolvedBefore(ctx, m.now().UTC().Add(-ResolvedRetention))
		return err
	})
	if err != nil {
		return 0, err
	}

	return n, nil
}

// notFound gives an unknown warning the message clients show; other errors pass through.
func notFound(uuid string, err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("warning %q not found", uuid)
	}

	return err
}

// newUUID returns a random UUID (version 4).
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
