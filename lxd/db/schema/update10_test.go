package schema

import (
	"context"
	"database/sql"
	"testing"
)

// TestUpdate10KeepsVolumes checks that update 10 keeps every custom volume with its configuration and snapshots, in
// project default, that the cascades still hold, and that a volume name is unique per pool, type and project only.
func TestUpdate10KeepsVolumes(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 9)
		if err != nil {
			return err
		}

		for _, stmt := range []string{
			"INSERT INTO storage_pools (id, name, driver, state) VALUES (3, 'p', 'dir', 'created')",
			"INSERT INTO storage_volumes (id, storage_pool_id, name, type, description, creation_date) VALUES (5, 3, 'v1', 'custom', 'd', '2024-01-01T00:00:00Z')",
			"INSERT INTO storage_volumes_config (storage_volume_id, key, value) VALUES (5, 'size', '1GiB')",
			"INSERT INTO storage_volumes_snapshots (id, storage_volume_id, name, creation_date) VALUES (9, 5, 's1', '2024-01-02T00:00:00Z')",
		} {
			_, err = tx.Exec(stmt)
			if err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var got string
	err = db.QueryRow(`SELECT v.project || ' ' || v.name || ' ' || v.description || ' ' || c.value || ' ' || s.id || ' ' || s.name
FROM storage_volumes v JOIN storage_volumes_config c ON c.storage_volume_id = v.id
JOIN storage_volumes_snapshots s ON s.storage_volume_id = v.id WHERE v.id = 5`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}

	if got != "default v1 d 1GiB 9 s1" {
		t.Fatalf("got %q after update 10", got)
	}

	_, err = db.Exec("INSERT INTO storage_volumes (storage_pool_id, project, name, type, creation_date) VALUES (3, 'p1', 'v1', 'custom', 'x')")
	if err != nil {
		t.Fatalf("the same volume name in another project: %v", err)
	}

	_, err = db.Exec("INSERT INTO storage_volumes (storage_pool_id, project, name, type, creation_date) VALUES (3, 'p1', 'v1', 'custom', 'x')")
	if err == nil {
		t.Fatal("a volume name twice in one project was accepted")
	}

	_, err = db.Exec("DELETE FROM storage_volumes WHERE id = 5")
	if err != nil {
		t.Fatal(err)
	}

	var n int
	err = db.QueryRow("SELECT (SELECT count(*) FROM storage_volumes_config) + (SELECT count(*) FROM storage_volumes_snapshots)").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 0 {
		t.Fatalf("got %d rows of a deleted volume's configuration and snapshots, want 0", n)
	}
}
