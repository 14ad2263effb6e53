package instance

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

func TestManagerReconcile(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	addImage(t, m, testImage(t, "{{ container.name }}\n"), "img")
	img, err := m.ResolveImage(ctx, "default", "img", "")
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"whole", "whole2", "running", "stray", "stray2"} {
		args := CreateArgs{Name: name, Profiles: []string{"default"}, Image: img}
		err = m.ValidateCreate(ctx, &args)
		if err != nil {
			t.Fatal(err)
		}

		err = m.Create(ctx, args, nil)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = m.CreateSnapshot(ctx, "whole", "snap0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	err = m.CreateSnapshot(ctx, "whole", "snap1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	// What crashes leave: a row without storage (creation cut during the unpack), storage without a row (two of
	// them, so that no rename can be completed), a snapshot row without storage (whole2), snapshot storage without
	// a row (whole).
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateInstance(ctx, db.Instance{Name: "half", Type: api.InstanceTypeContainer, Architecture: "x86_64",
			CreatedAt: time.Now(), Profiles: []string{"default"}, Config: map[string]string{}})
		if err != nil {
			return err
		}

		err = tx.DeleteSnapshot(ctx, "whole", "snap1")
		if err != nil {
			return err
		}

		_, err = tx.CreateSnapshot(ctx, db.Snapshot{Instance: "whole2", Name: "snap2", Architecture: "x86_64",
			CreatedAt: time.Now(), Profiles: []string{"default"}, Config: map[string]string{}})
		if err != nil {
			return err
		}

		err = tx.DeleteInstance(ctx, "stray2")
		if err != nil {
			return err
		}

		return tx.DeleteInstance(ctx, "stray")
	})
	if err != nil {
		t.Fatal(err)
	}

	err = os.MkdirAll(filepath.Join(m.logDir, "half"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	// A running instance is never touched, even without storage.
	err = m.pool.DeleteContainer("running")
	if err != nil {
		t.Fatal(err)
	}

	drv.running["running"] = make(chan struct{})

	var insts []db.Instance
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		insts, err = tx.GetInstances(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	kept, err := m.reconcile(ctx, insts)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, inst := range kept {
		names = append(names, inst.Name)
	}

	sort.Strings(names)
	if strings.Join(names, " ") != "running whole whole2" {
		t.Fatalf("got instances %v kept, want running, whole and whole2", names)
	}

	_, err = m.load(ctx, "half")
	if httpStatus(t, err) != 404 {
		t.Fatalf("got %v loading the half-created instance, want a 404", err)
	}

	_, err = os.Stat(filepath.Join(m.logDir, "half"))
	if !os.IsNotExist(err) {
		t.Fatalf("got %v, want the logs of the half-created instance removed", err)
	}

	stored, err := m.pool.Containers()
	if err != nil || strings.Join(stored, " ") != "whole whole2" {
		t.Fatalf("got container storage %v %v, want whole and whole2", stored, err)
	}

	snaps, err := m.Snapshots(ctx, "whole")
	if err != nil || len(snaps) != 1 || snaps[0].Name != "snap0" {
		t.Fatalf("got snapshots %v %v, want snap0 only", snaps, err)
	}

	onDisk, err := m.pool.SnapshotNames("whole")
	if err != nil || strings.Join(onDisk, " ") != "snap0" {
		t.Fatalf("got snapshot storage %v %v, want snap0 only", onDisk, err)
	}

	snaps, err = m.Snapshots(ctx, "whole2")
	if err != nil || len(snaps) != 0 {
		t.Fatalf("got snapshots %v %v of whole2, want none", snaps, err)
	}

	orphans, err := os.ReadDir(m.pool.OrphansPath())
	if err != nil {
		t.Fatal(err)
	}

	var set []string
	for _, e := range orphans {
		set = append(set, e.Name()[:strings.LastIndex(e.Name(), ".")])
	}

	sort.Strings(set)
	if strings.Join(set, " ") != "stray stray2" {
		t.Fatalf("got orphans %v, want the stray containers set aside", set)
	}

	_, err = os.Stat(filepath.Join(m.pool.ContainerPath("whole"), "lower"))
	if err != nil {
		t.Fatalf("the storage of a whole instance was touched: %v", err)
	}
}

// reconcileNow runs the start-up reconciliation on the instances in the database and returns the names kept.
func reconcileNow(t *testing.T, m *Manager) string {
	t.Helper()
	ctx := context.Background()
	var insts []db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		insts, err = tx.GetInstances(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	kept, err := m.reconcile(ctx, insts)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, inst := range kept {
		names = append(names, inst.Name)
	}

	sort.Strings(names)
	return strings.Join(names, " ")
}

func TestManagerReconcileRename(t *testing.T) {
	tests := []struct {
		name string

		// crash leaves the state a crash in the middle of renaming r1 to r2 leaves.
		crash func(m *Manager) error
	}{
		{"after the row", func(m *Manager) error { return nil }},
		{"after the storage", func(m *Manager) error { return m.pool.RenameContainer("r1", "r2") }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testManager(t)
			ctx := context.Background()
			err := createFromTestImage(t, m, "r1", "{{ container.name }}\n")
			if err != nil {
				t.Fatal(err)
			}

			err = m.CreateSnapshot(ctx, "r1", "snap0", time.Time{})
			if err != nil {
				t.Fatal(err)
			}

			err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				return tx.RenameInstance(ctx, "r1", "r2")
			})
			if err != nil {
				t.Fatal(err)
			}

			err = tt.crash(m)
			if err != nil {
				t.Fatal(err)
			}

			got := reconcileNow(t, m)
			if got != "r2" {
				t.Fatalf("got instances %q, want r2", got)
			}

			stored, err := m.pool.Containers()
			if err != nil || strings.Join(stored, " ") != "r2" {
				t.Fatalf("got container storage %v %v, want r2", stored, err)
			}

			snaps, err := m.pool.SnapshotNames("r2")
			if err != nil || strings.Join(snaps, " ") != "snap0" {
				t.Fatalf("got snapshot storage %v %v, want snap0 under r2", snaps, err)
			}

			rows, err := m.Snapshots(ctx, "r2")
			if err != nil || len(rows) != 1 {
				t.Fatalf("got snapshots %v %v, want snap0", rows, err)
			}

			_, err = os.Stat(m.pool.OrphansPath())
			if !os.IsNotExist(err) {
				t.Fatalf("got %v, want nothing set aside", err)
			}
		})
	}
}

// TestManagerReconcileDisjoint checks that records and storage that share nothing a crash could explain (a lost
// database, an unmounted pool) are left as they are.
func TestManagerReconcileDisjoint(t *testing.T) {
	for _, lost := range []string{"database", "pool"} {
		t.Run(lost, func(t *testing.T) {
			m, _ := testManager(t)
			ctx := context.Background()
			addImage(t, m, testImage(t, "{{ container.name }}\n"), "img")
			img, err := m.ResolveImage(ctx, "default", "img", "")
			if err != nil {
				t.Fatal(err)
			}

			for _, name := range []string{"a", "b"} {
				args := CreateArgs{Name: name, Profiles: []string{"default"}, Image: img}
				err = m.ValidateCreate(ctx, &args)
				if err != nil {
					t.Fatal(err)
				}

				err = m.Create(ctx, args, nil)
				if err != nil {
					t.Fatal(err)
				}
			}

			want := "a b"
			for _, name := range []string{"a", "b"} {
				if lost == "database" {
					err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
						return tx.DeleteInstance(ctx, name)
					})
					want = ""
				} else {
					// What an unmounted pool shows: no container directory at all, and no tombstone.
					err = os.RemoveAll(m.pool.ContainerPath(name))
				}

				if err != nil {
					t.Fatal(err)
				}
			}

			got := reconcileNow(t, m)
			if got != want {
				t.Fatalf("got instances %q kept, want %q", got, want)
			}

			stored, err := m.pool.Containers()
			if err != nil {
				t.Fatal(err)
			}

			wantStored := "a b"
			if lost == "pool" {
				wantStored = ""
			}

			if strings.Join(stored, " ") != wantStored {
				t.Fatalf("got container storage %v, want %q", stored, wantStored)
			}

			orphans, err := os.ReadDir(m.pool.OrphansPath())
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}

			if len(orphans) != 0 {
				t.Fatalf("got %d entries set aside, want none", len(orphans))
			}
		})
	}
}
