// Package schema holds the versioned SQL schema of the daemon's database and
// brings a database up to date.
package schema

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"time"
)

// ErrTooNew is returned when the database was written by a newer daemon.
var ErrTooNew = errors.New("database schema is newer than this daemon supports")

//go:embed schema.sql
var freshSQL string

// createSchemaTable records one row per applied update.
const createSchemaTable = `CREATE TABLE IF NOT EXISTS schema (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    version INTEGER NOT NULL UNIQUE,
    updated_at TEXT NOT NULL
)`

// Latest returns the newest schema version this build knows.
func Latest() int {
	return len(updates)
}

// Update returns the SQL of the update that brings the schema to version.
func Update(version int) (string, bool) {
	stmt, ok := updates[version]
	return stmt, ok
}

// Fresh returns the full schema at the latest version, as written in schema.sql.
func Fresh() string {
	return freshSQL
}

// Current returns the version recorded in the database, 0 for an empty one.
func Current(ctx context.Context, tx *sql.Tx) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema'").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("looking for the schema table: %w", err)
	}

	if n == 0 {
		return 0, nil
	}

	var version sql.NullInt64
	err = tx.QueryRowContext(ctx, "SELECT max(version) FROM schema").Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}

	return int(version.Int64), nil
}

// Apply runs, in order and inside tx, every update between the database's
// current version and target. It returns the version found before. A database
// newer than target is refused with ErrTooNew and left untouched.
func Apply(ctx context.Context, tx *sql.Tx, target int) (int, error) {
	if target < 0 || target > Latest() {
		return 0, fmt.Errorf("schema version %d is unknown, the latest is %d", target, Latest())
	}

	current, err := Current(ctx, tx)
	if err != nil {
		return 0, err
	}

	if current > target {
		return current, fmt.Errorf("database has schema version %d, this daemon knows up to %d: %w", current, target, ErrTooNew)
	}

	if current == target {
		return current, nil
	}

	_, err = tx.ExecContext(ctx, createSchemaTable)
	if err != nil {
		return current, fmt.Errorf("creating the schema table: %w", err)
	}

	for v := current + 1; v <= target; v++ {
		stmt, ok := updates[v]
		if !ok {
			return current, fmt.Errorf("schema update %d is missing", v)
		}

		_, err = tx.ExecContext(ctx, stmt)
		if err != nil {
			return current, fmt.Errorf("applying schema update %d: %w", v, err)
		}

		_, err = tx.ExecContext(ctx, "INSERT INTO schema (version, updated_at) VALUES (?, ?)", v, time.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return current, fmt.Errorf("recording schema version %d: %w", v, err)
		}
	}

	return current, nil
}

// ApplyFresh creates the latest schema from schema.sql on an empty database
// and records the latest version. It exists so tests can compare it with
// Apply; the daemon itself always runs the updates.
func ApplyFresh(ctx context.Context, tx *sql.Tx) error {
	current, err := Current(ctx, tx)
	if err != nil {
		return err
	}

	if current != 0 {
		return fmt.Errorf("database is not empty, it has schema version %d", current)
	}

	_, err = tx.ExecContext(ctx, freshSQL)
	if err != nil {
		return fmt.Errorf("creating the fresh schema: %w", err)
	}

	_, err = tx.ExecContext(ctx, "INSERT INTO schema (version, updated_at) VALUES (?, ?)", Latest(), time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("recording schema version %d: %w", Latest(), err)
	}

	return nil
}

// Dump returns the schema of the database as SQL statements, in a stable
// order, in the form schema.sql is written. It leaves out SQLite's internal
// tables.
func Dump(ctx context.Context, tx *sql.Tx) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT sql FROM sqlite_master
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name`)
	if err != nil {
		return "", fmt.Errorf("listing the schema: %w", err)
	}

	defer func() { _ = rows.Close() }()

	out := "-- Generated from the updates in updates.go; do not edit.\n" +
		"-- Regenerate: go test -tags libsqlite3 ./lxd/db/schema -run TestFreshSchema -update\n"
	for rows.Next() {
		var stmt string
		err = rows.Scan(&stmt)
		if err != nil {
			return "", fmt.Errorf("reading the schema: %w", err)
		}

		out += "\n" + stmt + ";\n"
	}

	err = rows.Err()
	if err != nil {
		return "", fmt.Errorf("listing the schema: %w", err)
	}

	return out, nil
}
