package instance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// listDir returns the names in dir joined by spaces; a missing dir is empty.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}

	return strings.Join(names, " ")
}

// tombstone renames path as the pool does before removing it.
func tombstone(t *testing.T, path string) {
	t.Helper()
	dest := filepath.Join(filepath.Dir(path), fmt.Sprintf(".deleted-%s.%d", filepath.Base(path), time.Now().UnixNano()))
	err := os.Rename(path, dest)
	if err != nil {
		t.Fatal(err)
	}
}

func snapshotNames(t *testing.T, m *Manager, name string) string {
	t.Helper()
	snaps, err := m.Snapshots(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range snaps {
		names = append(names, s.Name)
	}

	return strings.Join(names, " ")
}

// A delete cut short after its storage became a tombstone is finished at start: row, snapshots and logs go,
// whichever part of the storage the crash left.
func TestManagerReconcileInterruptedDelete(t *testing.T) {
	tests := []struct {
		name string

		// crash leaves the state a crash in the middle of deleting k leaves.
		crash func(t *testing.T, m *Manager)
	}{
		{"storage entombed", func(t *testing.T, m *Manager) {
			tombstone(t, m.pool.ContainerPath("k"))
			tombstone(t, filepath.Dir(m.pool.SnapshotPath("k", "snap0")))
		}},
		{"storage partly removed", func(t *testing.T, m *Manager) {
			tombstone(t, m.pool.ContainerPath("k"))
			err := os.RemoveAll(filepath.Join(m.pool.Dir(), "containers-snapshots", "k"))
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"storage removed before the row", func(t *testing.T, m *Manager) {
			err := m.pool.DeleteContainer("k")
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"snapshots entombed", func(t *testing.T, m *Manager) {
			err := os.RemoveAll(m.pool.ContainerPath("k"))
			if err != nil {
				t.Fatal(err)
			}

			tombstone(t, filepath.Dir(m.pool.SnapshotPath("k", "snap0")))
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testManager(t)
			ctx := context.Background()
			for _, name := range []string{"k", "other"} {
				err := createFromTestImage(t, m, name, "{{ container.name }}\n")
				if err != nil {
					t.Fatal(err)
				}

				err = m.CreateSnapshot(ctx, name, "snap0", time.Time{})
				if err != nil {
					t.Fatal(err)
				}
			}

			err := os.MkdirAll(filepath.Join(m.logDir, "k"), 0o700)
			if err != nil {
				t.Fatal(err)
			}

			tt.crash(t, m)
			got := reconcileNow(t, m)
			if got != "other" {
				t.Fatalf("got instances %q, want other alone", got)
			}

			_, err = m.load(ctx, "k")
			if httpStatus(t, err) != 404 {
				t.Fatalf("got %v loading k, want a 404", err)
			}

			var rows []db.Snapshot
			err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				rows, err = tx.GetSnapshots(ctx, "k")
				return err
			})
			if err != nil || len(rows) != 0 {
				t.Fatalf("got snapshot rows %v %v of k, want none", rows, err)
			}

			for dir, want := range map[string]string{
				"containers":           "other",
				"containers-snapshots": "other",
				"orphans":              "",
			} {
				got := listDir(t, filepath.Join(m.pool.Dir(), dir))
				if got != want {
					t.Errorf("got %q in %s/, want %q", got, dir, want)
				}
			}

			_, err = os.Stat(filepath.Join(m.logDir, "k"))
			if !os.IsNotExist(err) {
				t.Fatalf("got %v, want the logs of k removed", err)
			}

			if snapshotNames(t, m, "other") != "snap0" {
				t.Fatal("the snapshots of another instance were touched")
			}
		})
	}
}

// A delete and a failed creation leave no tombstone once their row is gone.
func TestManagerDeleteLeavesNoTombstone(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	err = m.CreateSnapshot(ctx, "k", "snap0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Delete(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}

	// A creation failing after its storage was laid out: its template cannot render.
	err = createFromTestImage(t, m, "broken", "{{ broken")
	if err == nil {
		t.Fatal("got no error creating from a broken template")
	}

	for _, dir := range []string{"containers", "containers-snapshots"} {
		got := listDir(t, filepath.Join(m.pool.Dir(), dir))
		if got != "" {
			t.Errorf("got %q in %s/, want nothing", got, dir)
		}
	}
}

// A tombstone left by an earlier instance of the same name does not touch the instance that has it now.
func TestManagerReconcileTombstoneOfOldInstance(t *testing.T) {
	m, _ := testManager(t)
	err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	err = os.MkdirAll(filepath.Join(m.pool.Dir(), "containers", ".deleted-k.1", "upper"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	got := reconcileNow(t, m)
	if got != "k" {
		t.Fatalf("got instances %q, want k", got)
	}

	got = listDir(t, filepath.Join(m.pool.Dir(), "containers"))
	if got != "k" {
		t.Fatalf("got %q in containers/, want k alone", got)
	}
}

// A snapshot delete cut short after the row (storage without a row) is finished, not set aside; a snapshot rename
// cut short after the row is completed.
func TestManagerReconcileSnapshotCrashes(t *testing.T) {
	tests := []struct {
		name      string
		crash     func(ctx context.Context, tx *db.Tx) error
		wantRows  string
		wantStore string
	}{
		{"delete after the row", func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteSnapshot(ctx, "k", "snap1")
		}, "snap0", "snap0"},
		{"rename after the row", func(ctx context.Context, tx *db.Tx) error {
			return tx.RenameSnapshot(ctx, "k", "snap1", "renamed")
		}, "snap0 renamed", "renamed snap0"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testManager(t)
			ctx := context.Background()
			err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
			if err != nil {
				t.Fatal(err)
			}

			for _, snap := range []string{"snap0", "snap1"} {
				err = m.CreateSnapshot(ctx, "k", snap, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
			}

			err = m.db.Transaction(ctx, tt.crash)
			if err != nil {
				t.Fatal(err)
			}

			got := reconcileNow(t, m)
			if got != "k" {
				t.Fatalf("got instances %q, want k", got)
			}

			got = snapshotNames(t, m, "k")
			if got != tt.wantRows {
				t.Fatalf("got snapshots %q, want %q", got, tt.wantRows)
			}

			got = listDir(t, filepath.Join(m.pool.Dir(), "containers-snapshots", "k"))
			if got != tt.wantStore {
				t.Fatalf("got snapshot storage %q, want %q", got, tt.wantStore)
			}

			got = listDir(t, m.pool.OrphansPath())
			if got != "" {
				t.Fatalf("got %q set aside, want nothing", got)
			}
		})
	}
}

// Orphans set aside by an earlier start go once their owner is gone: the instance for a container's storage, the
// snapshot row for a snapshot's. What this start sets aside stays until the next.
func TestManagerReconcilePrunesOrphans(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	err = m.CreateSnapshot(ctx, "k", "snap0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"gone.1", "k.2", "k.snap0.3", "k.old.4"} {
		err = os.MkdirAll(filepath.Join(m.pool.OrphansPath(), name, "rootfs"), 0o700)
		if err != nil {
			t.Fatal(err)
		}
	}

	// Storage without a row, set aside by this start.
	err = os.MkdirAll(filepath.Join(m.pool.Dir(), "containers", "stray", "rootfs"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(m.pool.Dir(), "containers", "stray", "lower"), []byte("\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	got := reconcileNow(t, m)
	if got != "k" {
		t.Fatalf("got instances %q, want k", got)
	}

	got = listDir(t, m.pool.OrphansPath())
	fields := strings.Fields(got)
	if len(fields) != 3 || fields[0] != "k.2" || fields[1] != "k.snap0.3" || !strings.HasPrefix(fields[2], "stray.") {
		t.Fatalf("got orphans %q, want k.2, k.snap0.3 and the stray storage", got)
	}

	// At the next start the stray storage's owner is still gone.
	got = reconcileNow(t, m)
	if got != "k" {
		t.Fatalf("got instances %q, want k", got)
	}

	got = listDir(t, m.pool.OrphansPath())
	if got != "k.2 k.snap0.3" {
		t.Fatalf("got orphans %q at the next start, want k.2 and k.snap0.3", got)
	}
}

// freezeDriver is the fake driver with a freezer: it records the state of the instance row at each freeze.
type freezeDriver struct {
	*fakeDriver
	m *Manager

	mu     sync.Mutex
	frozen map[string]bool
	seen   []string
}

func (f *freezeDriver) Freeze(name string) error {
	inst, err := f.m.load(context.Background(), name)
	if err != nil {
		return err
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen[name] = true
	f.seen = append(f.seen, inst.Config[KeySnapshotFreeze])
	return nil
}

func (f *freezeDriver) Unfreeze(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.frozen, name)
	return nil
}

func (f *freezeDriver) Status(name string) api.StatusCode {
	f.mu.Lock()
	frozen := f.frozen[name]
	f.mu.Unlock()
	status := f.fakeDriver.Status(name)
	if status == api.Running && frozen {
		return api.Frozen
	}

	return status
}

func TestManagerSnapshotFreezeRecorded(t *testing.T) {
	m, drv := testManager(t)
	fd := &freezeDriver{fakeDriver: drv, m: m, frozen: map[string]bool{}}
	m.driver = fd
	ctx := context.Background()
	err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	err = m.Start(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = m.Stop(ctx, "k", 0, true) })

	err = m.CreateSnapshot(ctx, "k", "snap0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	if len(fd.seen) != 1 || fd.seen[0] != "snap0" {
		t.Fatalf("got %q recorded at the freeze, want snap0", fd.seen)
	}

	inst, err := m.load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}

	if m.driver.Status("k") != api.Running || inst.Config[KeySnapshotFreeze] != "" {
		t.Fatalf("got %v and record %q after the snapshot, want running and no record", m.driver.Status("k"),
			inst.Config[KeySnapshotFreeze])
	}
}

// At start, an instance the daemon froze for a snapshot is thawed; one a user paused stays frozen.
func TestManagerThawSnapshotFreeze(t *testing.T) {
	m, drv := testManager(t)
	fd := &freezeDriver{fakeDriver: drv, m: m, frozen: map[string]bool{}}
	m.driver = fd
	ctx := context.Background()
	for _, name := range []string{"snapped", "paused", "stale"} {
		err := createFromTestImage(t, m, name, "{{ container.name }}\n")
		if err != nil {
			t.Fatal(err)
		}

		err = m.Start(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		t.Cleanup(func() { _ = m.Stop(ctx, name, 0, true) })
	}

	// The state a crash during the snapshot of "snapped" leaves; "paused" was paused by its user; "stale" was
	// thawed but its record not cleared.
	for _, name := range []string{"snapped", "paused"} {
		err := m.Freeze(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
	}

	m.setVolatile(ctx, "snapped", map[string]string{KeySnapshotFreeze: "snap0"})
	m.setVolatile(ctx, "stale", map[string]string{KeySnapshotFreeze: "snap0"})
	for _, name := range []string{"snapped", "paused", "stale"} {
		inst, err := m.load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		m.thawSnapshotFreeze(ctx, inst)
	}

	for name, want := range map[string]api.StatusCode{"snapped": api.Running, "paused": api.Frozen, "stale": api.Running} {
		got := m.driver.Status(name)
		if got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}

		inst, err := m.load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		if inst.Config[KeySnapshotFreeze] != "" {
			t.Errorf("%s: the freeze record is still there", name)
		}
	}
}

// A restore cut short (before or after the exchange of the root filesystem) is done again at start: root
// filesystem and configuration are the snapshot's, and the record is cleared.
func TestManagerFinishRestore(t *testing.T) {
	tests := []struct {
		name     string
		exchange bool
	}{
		{"before the exchange", false},
		{"after the exchange", true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testManager(t)
			ctx := context.Background()
			err := createFromTestImage(t, m, "k", "{{ container.name }}\n")
			if err != nil {
				t.Fatal(err)
			}

			writeRoot := func(content string) {
				t.Helper()
				root, err := m.pool.Mount("k")
				if err != nil {
					t.Fatal(err)
				}

				err = os.WriteFile(filepath.Join(root, "data"), []byte(content), 0o644)
				if err != nil {
					t.Fatal(err)
				}

				err = m.pool.Unmount("k")
				if err != nil {
					t.Fatal(err)
				}
			}

			writeRoot("then\n")
			err = m.Update(ctx, "k", api.InstancePut{Config: map[string]string{"user.state": "then"}, Profiles: []string{"default"}})
			if err != nil {
				t.Fatal(err)
			}

			err = m.CreateSnapshot(ctx, "k", "snap0", time.Time{})
			if err != nil {
				t.Fatal(err)
			}

			writeRoot("now\n")
			inst, err := m.load(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}

			put := api.InstancePut{Config: inst.Config, Profiles: []string{"default"}}
			put.Config["user.state"] = "now"
			err = m.Update(ctx, "k", put)
			if err != nil {
				t.Fatal(err)
			}

			m.setVolatile(ctx, "k", map[string]string{KeyRestoring: "snap0"})
			if tt.exchange {
				err = m.pool.RestoreSnapshot("k", "snap0")
				if err != nil {
					t.Fatal(err)
				}
			}

			inst, err = m.load(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}

			m.finishRestore(ctx, inst)
			if inst.Config[KeyRestoring] != "" || inst.Config["user.state"] != "then" {
				t.Fatalf("got config %v, want the snapshot's and no restore record", inst.Config)
			}

			root, err := m.pool.Mount("k")
			if err != nil {
				t.Fatal(err)
			}

			data, err := os.ReadFile(filepath.Join(root, "data"))
			_ = m.pool.Unmount("k")
			if err != nil || string(data) != "then\n" {
				t.Fatalf("got %q %v in the root filesystem, want the snapshot's", data, err)
			}
		})
	}
}
