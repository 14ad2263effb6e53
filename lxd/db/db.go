package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/lxd-go/lxd/lxd/db/schema"
)

// driverName is our registration of go-sqlite3, with foreign keys enforced
// on every connection.
const driverName = "lxd_sqlite3"

// FileName is the database file inside the database directory.
const FileName = "local.db"

// BackupSuffix is appended to FileName for the copy taken before an upgrade.
const BackupSuffix = ".bak"

// DefaultTimeout bounds a transaction whose context has no deadline.
const DefaultTimeout = 30 * time.Second

// openTimeout bounds opening, backing up and upgrading the database.
const openTimeout = 5 * time.Minute

// ErrSchemaTooNew is returned by Open for a database written by a newer daemon.
var ErrSchemaTooNew = schema.ErrTooNew

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			_, err := conn.Exec("PRAGMA foreign_keys = ON", nil)
			if err != nil {
				return fmt.Errorf("enabling foreign keys: %w", err)
			}

			return nil
		},
	})
}

// DB is the daemon's open database. A server that is not clustered keeps everything in local.db. A cluster member
// keeps the cluster's data (images, instances, profiles, projects, networks, pools, certificates, the cluster
// configuration and its members) in the replicated cluster database and only its own state in local.db: Transaction
// runs on the first, NodeTransaction on the second, and both on local.db alone when the server is not clustered.
type DB struct {
	local *sql.DB
	path  string

	// global is where Transaction runs: local when the server is not clustered.
	mu     sync.RWMutex
	global *sql.DB

	// node is this member's id in the cluster database's nodes table; 0 when the server is not clustered.
	node atomic.Int64
}

// SetNode records this member's id in the nodes table: the instances it creates are its own, and the storage pool
// keys that belong to each member are read and written as its. 0 is a server that is not clustered.
func (d *DB) SetNode(id int64) {
	d.node.Store(id)
}

// Node is this member's id in the nodes table, 0 when the server is not clustered.
func (d *DB) Node() int64 {
	return d.node.Load()
}

// dsn returns the go-sqlite3 connection string for the database file at path.
// Synchronous FULL makes every commit durable across power loss (NORMAL in WAL
// mode may lose the last commits); the database sees few writes, so the extra
// fsync per commit is cheap.
func dsn(path string) string {
	params := url.Values{}
	params.Set("_busy_timeout", "10000")
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", "FULL")
	params.Set("_txlock", "exclusive")

	u := url.URL{Scheme: "file", Path: path, RawQuery: params.Encode()}
	return u.String()
}

// Open opens, creating it if needed, the database in dir (LXD_DIR/database)
// and brings its schema up to date. Before upgrading a database that already
// holds data it writes a consistent copy to local.db.bak. A database whose
// schema is newer than this build knows is refused with ErrSchemaTooNew.
func Open(dir string) (*DB, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving database directory %q: %w", dir, err)
	}

	err = os.MkdirAll(dir, 0o700)
	if err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}

	err = os.Chmod(dir, 0o700)
	if err != nil {
		return nil, fmt.Errorf("restricting database directory: %w", err)
	}

	path := filepath.Join(dir, FileName)
	sqlDB, err := sql.Open(driverName, dsn(path))
	if err != nil {
		return nil, fmt.Errorf("opening database %q: %w", path, err)
	}

	// Every transaction takes SQLite's write lock (txlock=exclusive), so a
	// second connection would only wait in SQLite's busy loop; queueing in
	// the pool instead honours each caller's context.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)

	d := &DB{local: sqlDB, global: sqlDB, path: path}

	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()

	err = d.init(ctx)
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}

	return d, nil
}

// init checks the connection settings and upgrades the schema.
func (d *DB) init(ctx context.Context) error {
	err := d.checkPragmas(ctx)
	if err != nil {
		return err
	}

	var current int
	err = d.rawTransaction(ctx, func(tx *sql.Tx) error {
		var err error
		current, err = schema.Current(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("reading schema version of %q: %w", d.path, err)
	}

	if current > schema.Latest() {
		return fmt.Errorf("opening %q: database has schema version %d, this daemon knows up to %d: %w", d.path, current, schema.Latest(), ErrSchemaTooNew)
	}

	if current == schema.Latest() {
		return nil
	}

	if current > 0 {
		err = d.backup(ctx)
		if err != nil {
			return err
		}
	}

	err = d.rawTransaction(ctx, func(tx *sql.Tx) error {
		_, err := schema.Apply(ctx, tx, schema.Latest())
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrading %q from schema version %d: %w", d.path, current, err)
	}

	return nil
}

// checkPragmas verifies that the DSN and the connect hook took effect.
func (d *DB) checkPragmas(ctx context.Context) error {
	want := []struct {
		pragma string
		value  string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"},
		{"busy_timeout", "10000"},
	}

	for _, w := range want {
		var got string
		err := d.local.QueryRowContext(ctx, "PRAGMA "+w.pragma).Scan(&got)
		if err != nil {
			return fmt.Errorf("reading pragma %s of %q: %w", w.pragma, d.path, err)
		}

		if got != w.value {
			return fmt.Errorf("database %q has %s = %s, want %s", d.path, w.pragma, got, w.value)
		}
	}

	return nil
}

// backup writes a consistent copy of the database to local.db.bak. It
// checkpoints the WAL first so local.db itself is complete, then lets SQLite
// write the copy (VACUUM INTO) under a read transaction, syncs it and renames
// it into place, replacing an older backup.
func (d *DB) backup(ctx context.Context) error {
	_, err := d.local.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	if err != nil {
		return fmt.Errorf("checkpointing %q: %w", d.path, err)
	}

	final := d.path + BackupSuffix
	tmp := final + ".tmp"
	err = os.Remove(tmp)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale backup: %w", err)
	}

	_, err = d.local.ExecContext(ctx, "VACUUM INTO ?", tmp)
	if err != nil {
		return fmt.Errorf("backing up %q: %w", d.path, err)
	}

	err = syncPath(tmp)
	if err != nil {
		return fmt.Errorf("syncing backup: %w", err)
	}

	err = os.Rename(tmp, final)
	if err != nil {
		return fmt.Errorf("installing backup: %w", err)
	}

	err = syncPath(filepath.Dir(final))
	if err != nil {
		return fmt.Errorf("syncing database directory: %w", err)
	}

	return nil
}

// syncPath fsyncs a file or directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}

	err = f.Sync()
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

// rawTransaction runs fn in a plain SQL transaction of local.db, for opening and upgrading.
func (d *DB) rawTransaction(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return rawTransaction(ctx, d.local, fn)
}

// rawTransaction runs fn in a plain SQL transaction of db.
func rawTransaction(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}

	err = fn(tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}

	return tx.Commit()
}

// Path returns the path of the database file.
func (d *DB) Path() string {
	return d.path
}

// Close closes the cluster database, if any, then checkpoints the WAL of local.db and closes it.
func (d *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()

	d.mu.Lock()
	global := d.global
	d.global = d.local
	d.mu.Unlock()
	if global != d.local {
		_ = global.Close()
	}

	_, cpErr := d.local.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	err := d.local.Close()
	if err != nil {
		return fmt.Errorf("closing database: %w", err)
	}

	if cpErr != nil {
		return fmt.Errorf("checkpointing database on close: %w", cpErr)
	}

	return nil
}
