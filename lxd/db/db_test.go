package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
)

// newTestDB opens a database in a fresh temporary directory.
func newTestDB(t testing.TB) *DB {
	t.Helper()

	d, err := Open(filepath.Join(t.TempDir(), "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	return d
}

// mustTx runs fn in a transaction and fails the test on error.
func mustTx(t testing.TB, d *DB, fn func(ctx context.Context, tx *Tx) error) {
	t.Helper()

	err := d.Transaction(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
}

// testFP returns a valid fingerprint made from n.
func testFP(n int) string {
	return fmt.Sprintf("%064x", n)
}

// openRaw opens the database file at path without upgrading it.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()

	raw, err := sql.Open(driverName, dsn(path))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// rawVersion reads the schema version of an open raw database.
func rawVersion(t *testing.T, raw *sql.DB) int {
	t.Helper()

	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = tx.Rollback() }()

	v, err := schema.Current(context.Background(), tx)
	if err != nil {
		t.Fatal(err)
	}

	return v
}

func TestOpenCreatesDirectoryAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "database")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = d.Close() }()

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}

	if info.Mode().Perm() != 0o700 {
		t.Fatalf("got mode %v, want 0700", info.Mode().Perm())
	}

	if d.Path() != filepath.Join(dir, FileName) {
		t.Fatalf("got path %q, want %q", d.Path(), filepath.Join(dir, FileName))
	}

	_, err = os.Stat(d.Path())
	if err != nil {
		t.Fatal(err)
	}

	_, err = os.Stat(d.Path() + BackupSuffix)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a fresh database got a backup: %v", err)
	}

	var v int
	err = d.rawTransaction(context.Background(), func(tx *sql.Tx) error {
		var err error
		v, err = schema.Current(context.Background(), tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if v != schema.Latest() {
		t.Fatalf("got version %d, want %d", v, schema.Latest())
	}
}

func TestPragmas(t *testing.T) {
	d := newTestDB(t)

	tests := []struct {
		pragma string
		want   string
	}{
		{"foreign_keys", "1"},
		{"journal_mode", "wal"},
		{"synchronous", "2"},
		{"busy_timeout", "10000"},
	}

	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			var got string
			err := d.local.QueryRow("PRAGMA " + tt.pragma).Scan(&got)
			if err != nil {
				t.Fatal(err)
			}

			if got != tt.want {
				t.Fatalf("got %s = %s, want %s", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "database")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		err := tx.UpdateConfig(ctx, map[string]string{"core.https_address": "127.0.0.1:8443"})
		if err != nil {
			return err
		}

		_, err = tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 10, Architecture: "x86_64"})
		return err
	})

	err = d.Close()
	if err != nil {
		t.Fatal(err)
	}

	d, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = d.Close() }()

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		config, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if config["core.https_address"] != "127.0.0.1:8443" {
			t.Errorf("got config %v, want core.https_address kept", config)
		}

		_, err = tx.GetImage(ctx, testFP(1))
		return err
	})

	_, err = os.Stat(d.Path() + BackupSuffix)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reopening an up-to-date database wrote a backup: %v", err)
	}
}

func TestUpgradeFromV1(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "database")
	err := os.MkdirAll(dir, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, FileName)
	raw := openRaw(t, path)
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}

	_, err = schema.Apply(ctx, tx, 1)
	if err != nil {
		t.Fatal(err)
	}

	_, err = tx.Exec("INSERT INTO config (key, value) VALUES ('core.trust_password', 'x')")
	if err != nil {
		t.Fatal(err)
	}

	_, err = tx.Exec("INSERT INTO certificates (fingerprint, type, name, certificate, restricted) VALUES (?, 'client', 'laptop', 'PEM', 1)", testFP(7))
	if err != nil {
		t.Fatal(err)
	}

	_, err = tx.Exec("INSERT INTO certificates_projects (certificate_id, project) VALUES (1, 'default')")
	if err != nil {
		t.Fatal(err)
	}

	err = tx.Commit()
	if err != nil {
		t.Fatal(err)
	}

	err = raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = d.Close() }()

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		config, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if config["core.trust_password"] != "x" {
			t.Errorf("got config %v, want core.trust_password kept", config)
		}

		cert, err := tx.GetCertificate(ctx, testFP(7))
		if err != nil {
			return err
		}

		if cert.Name != "laptop" || !cert.Restricted || len(cert.Projects) != 1 || cert.Projects[0] != "default" {
			t.Errorf("got certificate %+v, want it kept", cert)
		}

		_, err = tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 1, Architecture: "x86_64"})
		return err
	})

	bak := openRaw(t, path+BackupSuffix)
	v := rawVersion(t, bak)
	if v != 1 {
		t.Fatalf("got backup version %d, want 1", v)
	}

	var name string
	err = bak.QueryRow("SELECT name FROM certificates WHERE fingerprint = ?", testFP(7)).Scan(&name)
	if err != nil {
		t.Fatalf("backup lacks the certificate: %v", err)
	}

	_, err = os.Stat(path + BackupSuffix + ".tmp")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary backup left behind: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "database")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	path := d.Path()
	err = d.Close()
	if err != nil {
		t.Fatal(err)
	}

	raw := openRaw(t, path)
	_, err = raw.Exec("INSERT INTO schema (version, updated_at) VALUES (?, '')", schema.Latest()+1)
	if err != nil {
		t.Fatal(err)
	}

	err = raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	d, err = Open(dir)
	if err == nil {
		_ = d.Close()
		t.Fatal("got nil, want an error for a newer schema")
	}

	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("got %v, want ErrSchemaTooNew", err)
	}

	_, err = os.Stat(path + BackupSuffix)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refusing a newer database wrote a backup: %v", err)
	}

	raw = openRaw(t, path)
	v := rawVersion(t, raw)
	if v != schema.Latest()+1 {
		t.Fatalf("got version %d after refusal, want %d untouched", v, schema.Latest()+1)
	}
}

func TestTransactionErrorRollsBack(t *testing.T) {
	d := newTestDB(t)
	boom := errors.New("boom")

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 1, Architecture: "x86_64"})
		if err != nil {
			return err
		}

		err = tx.UpdateConfig(ctx, map[string]string{"k": "v"})
		if err != nil {
			return err
		}

		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the function's error", err)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		images, err := tx.GetImages(ctx, ImageFilter{})
		if err != nil {
			return err
		}

		config, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if len(images) != 0 || len(config) != 0 {
			t.Errorf("got %d images and config %v after rollback, want nothing", len(images), config)
		}

		return nil
	})
}

func TestTransactionPanicRollsBack(t *testing.T) {
	d := newTestDB(t)

	func() {
		defer func() {
			p := recover()
			if p != "boom" {
				t.Fatalf("got panic %v, want it to propagate", p)
			}
		}()

		_ = d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
			err := tx.UpdateConfig(ctx, map[string]string{"k": "v"})
			if err != nil {
				return err
			}

			panic("boom")
		})
	}()

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		config, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if len(config) != 0 {
			t.Errorf("got config %v after a panic, want nothing", config)
		}

		return nil
	})
}

func TestTransactionDeadline(t *testing.T) {
	d := newTestDB(t)

	before := time.Now()
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		deadline, ok := ctx.Deadline()
		if !ok {
			t.Fatal("got no deadline, want the default timeout")
		}

		if deadline.Before(before.Add(DefaultTimeout)) || deadline.After(time.Now().Add(DefaultTimeout)) {
			t.Errorf("got deadline in %v, want about %v", time.Until(deadline), DefaultTimeout)
		}

		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	want, _ := ctx.Deadline()
	err := d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		got, _ := ctx.Deadline()
		if !got.Equal(want) {
			t.Errorf("got deadline %v, want the caller's %v", got, want)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	err = d.Transaction(cancelled, func(ctx context.Context, tx *Tx) error {
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	d := newTestDB(t)
	const writers = 20

	var wg sync.WaitGroup
	errCh := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errCh <- d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
				_, err := tx.CreateImage(ctx, Image{
					Fingerprint:  testFP(i + 1),
					Size:         int64(i),
					Architecture: "x86_64",
					Properties:   map[string]string{"n": fmt.Sprint(i)},
				})
				if err != nil {
					return err
				}

				_, err = tx.GetImages(ctx, ImageFilter{})
				return err
			})
		}()
	}

	wg.Wait()
	close(errCh)
	for err := range errCh {
		if err != nil {
			t.Fatal(err)
		}
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		images, err := tx.GetImages(ctx, ImageFilter{})
		if err != nil {
			return err
		}

		if len(images) != writers {
			t.Errorf("got %d images, want %d", len(images), writers)
		}

		for _, img := range images {
			if img.Properties["n"] != fmt.Sprint(img.Size) {
				t.Errorf("image %s has properties %v, want n=%d", img.Fingerprint, img.Properties, img.Size)
			}
		}

		return nil
	})

	var check string
	err := d.local.QueryRow("PRAGMA integrity_check").Scan(&check)
	if err != nil {
		t.Fatal(err)
	}

	if check != "ok" {
		t.Fatalf("got integrity_check %q, want ok", check)
	}
}

func TestErrorClasses(t *testing.T) {
	d := newTestDB(t)

	tests := []struct {
		name string
		sql  string
		args []any
		want error
	}{
		{"unique", "INSERT INTO config (key, value) VALUES ('a', '1'), ('a', '2')", nil, errs.ErrConflict},
		{"foreign key", "INSERT INTO images_properties (image_id, key, value) VALUES (999, 'k', 'v')", nil, errs.ErrConflict},
		{"check", "INSERT INTO certificates (fingerprint, type, name, certificate) VALUES ('nothex', 'client', '', '')", nil, errs.ErrInvalid},
		{"not null", "INSERT INTO config (key, value) VALUES ('a', NULL)", nil, errs.ErrInvalid},
		{"no rows", "SELECT value FROM config WHERE key = 'missing'", nil, errs.ErrNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
				var s string
				return tx.queryRow(ctx, tt.sql, tt.args, &s)
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}
