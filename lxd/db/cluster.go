package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lxd-go/lxd/lxd/db/schema"
)

// conn returns the database Transaction runs on: the cluster database of a member, local.db otherwise.
func (d *DB) conn() *sql.DB {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.global
}

// Clustered reports whether the cluster's data lives in the cluster database: Transaction runs elsewhere than on
// local.db.
func (d *DB) Clustered() bool {
	return d.conn() != d.local
}

// ClusterArgs are the inputs of UseCluster.
type ClusterArgs struct {
	// Global is the cluster database, open and reachable.
	Global *sql.DB

	// Bootstrap copies the cluster's data from local.db into Global, replacing what Global holds: this server
	// founds the cluster with what it has.
	Bootstrap bool

	// NodeConfig lists the configuration keys that belong to each member and stay in local.db.
	NodeConfig []string
}

// UseCluster brings the schema of the cluster database up to date (a schema newer than this build knows is refused
// with ErrSchemaTooNew, as a member must not run older code than the cluster's), optionally copies local.db's data
// into it, and from then on runs Transaction on it. On error nothing changes.
func (d *DB) UseCluster(ctx context.Context, args ClusterArgs) error {
	global := args.Global
	global.SetMaxOpenConns(1)
	global.SetMaxIdleConns(1)
	global.SetConnMaxLifetime(0)
	global.SetConnMaxIdleTime(0)

	// dqlite keeps foreign keys on per connection, as SQLite does; the pool holds one connection for good.
	_, err := global.ExecContext(ctx, "PRAGMA foreign_keys = ON")
	if err != nil {
		return fmt.Errorf("enabling foreign keys of the cluster database: %w", err)
	}

	err = rawTransaction(ctx, global, func(tx *sql.Tx) error {
		_, err := schema.Apply(ctx, tx, schema.Latest())
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrading the cluster database: %w", err)
	}

	if args.Bootstrap {
		err = d.copyToCluster(ctx, global, args.NodeConfig)
		if err != nil {
			return err
		}
	}

	d.mu.Lock()
	d.global = global
	d.mu.Unlock()
	return nil
}

// copyToCluster replaces the rows of every table of the cluster database with local.db's, but for the schema
// history and the node-local configuration keys, in one transaction.
func (d *DB) copyToCluster(ctx context.Context, global *sql.DB, nodeConfig []string) error {
	tables, err := d.tables(ctx)
	if err != nil {
		return err
	}

	return rawTransaction(ctx, global, func(dst *sql.Tx) error {
		// Rows are copied table by table in name order: foreign keys are checked once, at commit.
		_, err := dst.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON")
		if err != nil {
			return fmt.Errorf("deferring foreign keys: %w", err)
		}

		for _, table := range tables {
			_, err = dst.ExecContext(ctx, "DELETE FROM "+quoteIdent(table))
			if err != nil {
				return fmt.Errorf("emptying %s of the cluster database: %w", table, err)
			}

			err = d.copyTable(ctx, dst, table)
			if err != nil {
				return err
			}
		}

		for _, key := range nodeConfig {
			_, err = dst.ExecContext(ctx, "DELETE FROM config WHERE key = ?", key)
			if err != nil {
				return fmt.Errorf("leaving %s out of the cluster configuration: %w", key, err)
			}
		}

		return nil
	})
}

// tables lists local.db's tables but for SQLite's own and the schema history.
func (d *DB) tables(ctx context.Context) ([]string, error) {
	rows, err := d.local.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}

	tables, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}

	return tables, nil
}

// copyTable inserts every row of local.db's table into dst.
func (d *DB) copyTable(ctx context.Context, dst *sql.Tx, table string) error {
	rows, err := d.local.QueryContext(ctx, "SELECT * FROM "+quoteIdent(table))
	if err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}

	defer func() { _ = rows.Close() }()

	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}

	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}

	insert := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", quoteIdent(table), strings.Join(quoted, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}

		err = rows.Scan(ptrs...)
		if err != nil {
			return fmt.Errorf("reading %s: %w", table, err)
		}

		_, err = dst.ExecContext(ctx, insert, values...)
		if err != nil {
			return fmt.Errorf("copying a row of %s: %w", table, err)
		}
	}

	return rows.Err()
}

// LeaveCluster runs Transaction on local.db again. The cluster database is left open for its owner to close.
func (d *DB) LeaveCluster() {
	d.mu.Lock()
	d.global = d.local
	d.mu.Unlock()
}

// Local returns a view of this database whose Transaction runs on local.db, this server's own database, for the
// administrator's raw access ("lxd sql local"). It shares the connection: never Close it.
func (d *DB) Local() *DB {
	return &DB{local: d.local, global: d.local, path: d.path}
}

// MemberVersion is the schema and API extensions a member last recorded.
type MemberVersion struct {
	Name          string
	Address       string
	Schema        int
	APIExtensions int
}

// MemberVersions reads the versions the members (joined, not joining) recorded in the cluster database global,
// before its schema is brought up to date: it may be older than this build's.
func MemberVersions(ctx context.Context, global *sql.DB) ([]MemberVersion, error) {
	rows, err := global.QueryContext(ctx, "SELECT name, address, schema, api_extensions FROM nodes WHERE state <> ? ORDER BY id", NodePending)
	if err != nil {
		return nil, fmt.Errorf("reading the members' versions: %w", err)
	}

	defer func() { _ = rows.Close() }()
	var out []MemberVersion
	for rows.Next() {
		var v MemberVersion
		err = rows.Scan(&v.Name, &v.Address, &v.Schema, &v.APIExtensions)
		if err != nil {
			return nil, fmt.Errorf("reading the members' versions: %w", err)
		}

		out = append(out, v)
	}

	return out, rows.Err()
}

// RecordMemberVersion records in global the version the member at address runs.
func RecordMemberVersion(ctx context.Context, global *sql.DB, address string, schema int, apiExtensions int) error {
	_, err := global.ExecContext(ctx, "UPDATE nodes SET schema = ?, api_extensions = ? WHERE address = ?", schema, apiExtensions, address)
	if err != nil {
		return fmt.Errorf("recording this member's version: %w", err)
	}

	return nil
}
