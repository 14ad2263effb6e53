package warnings

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newTestManager returns a Manager over a new database and the clock it reads.
func newTestManager(t *testing.T) (*Manager, *clock) {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	c := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	return NewManager(ManagerArgs{DB: d, Now: c.now}), c
}

// only returns the single warning listed, failing the test when there is not exactly one.
func only(t *testing.T, m *Manager) api.Warning {
	t.Helper()
	ws, err := m.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}

	if len(ws) != 1 {
		t.Fatalf("got %d warnings (%+v), want 1", len(ws), ws)
	}

	return ws[0]
}

func TestRecordCountsAndResolves(t *testing.T) {
	ctx := context.Background()
	m, c := newTestManager(t)
	first := c.t

	err := m.Record(ctx, TypeMissingIDMap, Server, "no range")
	if err != nil {
		t.Fatal(err)
	}

	w := only(t, m)
	if w.Count != 1 || w.Status != api.WarningStatusNew || w.Severity != api.WarningSeverityModerate ||
		w.Type != TypeMissingIDMap || w.LastMessage != "no range" || !w.FirstSeenAt.Equal(first) || len(w.UUID) != 36 {
		t.Fatalf("got %+v, want a new moderate warning seen once", w)
	}

	c.t = c.t.Add(time.Minute)
	err = m.Record(ctx, TypeMissingIDMap, Server, "still no range")
	if err != nil {
		t.Fatal(err)
	}

	w2 := only(t, m)
	if w2.UUID != w.UUID || w2.Count != 2 || w2.LastMessage != "still no range" || !w2.LastSeenAt.Equal(c.t) || !w2.FirstSeenAt.Equal(first) {
		t.Fatalf("got %+v, want the same warning counted twice, last seen %v", w2, c.t)
	}

	err = m.Resolve(ctx, TypeMissingIDMap, Server)
	if err != nil {
		t.Fatal(err)
	}

	if got := only(t, m); got.Status != api.WarningStatusResolved || got.Count != 2 {
		t.Fatalf("got %+v, want resolved with count 2", got)
	}

	err = m.Record(ctx, TypeMissingIDMap, Server, "back")
	if err != nil {
		t.Fatal(err)
	}

	if got := only(t, m); got.Status != api.WarningStatusNew || got.Count != 3 {
		t.Fatalf("got %+v, want a recurring resolved warning new again with count 3", got)
	}

	// Resolving what never happened is not an error and creates nothing.
	err = m.Resolve(ctx, TypeAppArmorNotAvailable, Server)
	if err != nil {
		t.Fatal(err)
	}

	only(t, m)
}

func TestRecordKeepsAcknowledged(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	err := m.Record(ctx, TypeAppArmorNotAvailable, Server, "no apparmor")
	if err != nil {
		t.Fatal(err)
	}

	w := only(t, m)
	err = m.SetStatus(ctx, w.UUID, api.WarningStatusAcknowledged)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Record(ctx, TypeAppArmorNotAvailable, Server, "no apparmor")
	if err != nil {
		t.Fatal(err)
	}

	got, err := m.Get(ctx, w.UUID)
	if err != nil {
		t.Fatal(err)
	}

	if got.Status != api.WarningStatusAcknowledged || got.Count != 2 || got.Severity != api.WarningSeverityLow {
		t.Fatalf("got %+v, want acknowledged, low, count 2", got)
	}

	err = m.SetStatus(ctx, w.UUID, api.WarningStatusNew)
	if err != nil {
		t.Fatal(err)
	}

	got, _ = m.Get(ctx, w.UUID)
	if got.Status != api.WarningStatusNew {
		t.Fatalf("got status %q, want new", got.Status)
	}
}

func TestEntitiesAndProjects(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	c1 := Entity{Project: "default", URL: "/1.0/instances/c1"}
	for _, rec := range []struct {
		typ    string
		entity Entity
	}{
		{TypeMissingProgram("xz"), Server},
		{TypeMissingProgram("igzip"), Server},
		{TypeMissingProgram("xz"), c1},
		{TypeMissingProgram("xz"), Server},
	} {
		err := m.Record(ctx, rec.typ, rec.entity, "m")
		if err != nil {
			t.Fatal(err)
		}
	}

	all, err := m.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}

	if len(all) != 3 {
		t.Fatalf("got %d warnings, want 3 (one per type and entity)", len(all))
	}

	project := "default"
	inProject, err := m.List(ctx, Filter{Project: &project})
	if err != nil {
		t.Fatal(err)
	}

	if len(inProject) != 1 || inProject[0].EntityURL != c1.URL || inProject[0].Project != "default" {
		t.Fatalf("got %+v, want only the warning about c1", inProject)
	}

	if all[0].Type != "Missing xz" || all[0].Count != 2 {
		t.Fatalf("got %+v, want the server's xz warning counted twice", all[0])
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	err := m.Record(ctx, TypeMissingIDMap, Server, "m")
	if err != nil {
		t.Fatal(err)
	}

	known := only(t, m).UUID
	unknown := "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"empty type", m.Record(ctx, "", Server, "m"), errs.ErrInvalid},
		{"get unknown", func() error { _, err := m.Get(ctx, unknown); return err }(), errs.ErrNotFound},
		{"status of unknown", m.SetStatus(ctx, unknown, api.WarningStatusAcknowledged), errs.ErrNotFound},
		{"bad status", m.SetStatus(ctx, known, "gone"), errs.ErrInvalid},
		{"empty status", m.SetStatus(ctx, known, ""), errs.ErrInvalid},
		{"resolved by hand", m.SetStatus(ctx, known, api.WarningStatusResolved), errs.ErrForbidden},
		{"delete unknown", m.Delete(ctx, unknown), errs.ErrNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v, want %v", tt.err, tt.want)
			}
		})
	}

	if got := only(t, m); got.Status != api.WarningStatusNew {
		t.Fatalf("got status %q after refused changes, want new", got.Status)
	}

	err = m.Delete(ctx, known)
	if err != nil {
		t.Fatal(err)
	}

	ws, err := m.List(ctx, Filter{})
	if err != nil || len(ws) != 0 || ws == nil {
		t.Fatalf("got %v (%v), want an empty, non-nil list", ws, err)
	}
}

func TestPruneResolved(t *testing.T) {
	ctx := context.Background()
	m, c := newTestManager(t)
	for _, typ := range []string{"old", "recent", "open"} {
		err := m.Record(ctx, typ, Server, "m")
		if err != nil {
			t.Fatal(err)
		}
	}

	err := m.Resolve(ctx, "old", Server)
	if err != nil {
		t.Fatal(err)
	}

	c.t = c.t.Add(ResolvedRetention)
	err = m.Resolve(ctx, "recent", Server)
	if err != nil {
		t.Fatal(err)
	}

	// "old" was resolved exactly ResolvedRetention ago: kept until it is older than that.
	n, err := m.PruneResolved(ctx)
	if err != nil || n != 0 {
		t.Fatalf("got %d pruned (%v), want 0", n, err)
	}

	c.t = c.t.Add(time.Second)
	n, err = m.PruneResolved(ctx)
	if err != nil || n != 1 {
		t.Fatalf("got %d pruned (%v), want 1", n, err)
	}

	ws, err := m.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}

	if len(ws) != 2 || ws[0].Type == "old" || ws[1].Type == "old" {
		t.Fatalf("got %+v, want recent and open left", ws)
	}
}
