package schema

import (
	"context"
	"database/sql"
	"testing"
)

// TestUpdate9KeepsImages checks that update 9 keeps every image with its properties, aliases and source, in project
// default, that the cascades still hold, and that a fingerprint and an alias name are unique per project only.
func TestUpdate9KeepsImages(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	fp := "1111111111111111111111111111111111111111111111111111111111111111"
	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 8)
		if err != nil {
			return err
		}

		for _, stmt := range []string{
			"INSERT INTO images (id, fingerprint, size, architecture, upload_date, public) VALUES (7, '" + fp + "', 5, 'x86_64', '2024-01-01T00:00:00Z', 1)",
			"INSERT INTO images_properties (image_id, key, value) VALUES (7, 'os', 'busybox')",
			"INSERT INTO images_aliases (name, image_id, description) VALUES ('bb', 7, 'd')",
			"INSERT INTO images_source (image_id, server, protocol, alias) VALUES (7, 'https://x', 'simplestreams', 'a')",
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
		_, err := Apply(ctx, tx, 9)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var got string
	err = db.QueryRow(`SELECT images.project || ' ' || images.public || ' ' || p.value || ' ' || a.name || ' ' || a.project || ' ' || s.alias
FROM images JOIN images_properties AS p ON p.image_id = images.id JOIN images_aliases AS a ON a.image_id = images.id
JOIN images_source AS s ON s.image_id = images.id WHERE images.id = 7`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}

	if got != "default 1 busybox bb default a" {
		t.Fatalf("got %q after update 9", got)
	}

	_, err = db.Exec("INSERT INTO images (id, fingerprint, project, size, architecture, upload_date) VALUES (8, '" + fp + "', 'p1', 5, 'x86_64', '2024-01-01T00:00:00Z')")
	if err != nil {
		t.Fatalf("the same fingerprint in another project: %v", err)
	}

	_, err = db.Exec("INSERT INTO images_aliases (name, project, image_id) VALUES ('bb', 'p1', 8)")
	if err != nil {
		t.Fatalf("the same alias in another project: %v", err)
	}

	_, err = db.Exec("INSERT INTO images (fingerprint, project, size, architecture, upload_date) VALUES ('" + fp + "', 'p1', 5, 'x86_64', 'x')")
	if err == nil {
		t.Fatal("a fingerprint twice in one project was accepted")
	}

	_, err = db.Exec("DELETE FROM images WHERE id = 7")
	if err != nil {
		t.Fatal(err)
	}

	var n int
	err = db.QueryRow("SELECT (SELECT count(*) FROM images_properties) + (SELECT count(*) FROM images_aliases WHERE project = 'default') + (SELECT count(*) FROM images_source)").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 0 {
		t.Fatalf("got %d rows of a deleted image's properties, aliases and source, want 0", n)
	}
}
