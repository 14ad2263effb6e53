package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Tx is an open transaction. Its methods are the only way to read or write
// the database; it is valid only inside the function given to Transaction.
type Tx struct {
	tx *sql.Tx

	// project is the project whose images, image aliases and custom storage volumes the transaction reads and
	// writes ("" is default).
	project string

	// node is the id of the member the transaction runs for (DB.Node); 0 when the server is not clustered.
	node int64
}

// nodeArg is the member id as a query argument: NULL when the server is not clustered.
func (t *Tx) nodeArg() any {
	if t.node == 0 {
		return nil
	}

	return t.node
}

// InProject returns the same transaction seen from project name for the records a project holds apart from the
// others: images and their aliases (features.images) and custom storage volumes (features.storage.volumes).
// Every image, alias and storage volume method of the returned Tx reads and writes that project's rows only;
// without it they are default's. The caller names the project that holds the kind of record it works on.
func (t *Tx) InProject(name string) *Tx {
	return &Tx{tx: t.tx, project: name, node: t.node}
}

// scopedProject is the project whose images, aliases and custom volumes the transaction sees.
func (t *Tx) scopedProject() string {
	if t.project == "" {
		return "default"
	}

	return t.project
}

// Transaction runs fn in a transaction. It commits when fn returns nil and
// rolls back when fn returns an error or panics (the panic continues). When
// ctx has no deadline, DefaultTimeout applies. Keep fn short: never download
// or unpack inside it, as every transaction holds the database's write lock.
//
// On the cluster database, a transaction that dqlite refused because another member's transaction held the database
// (busy, locked) or because its leader changed is run again, after a short random pause growing with each attempt,
// until ctx ends: members write at once, and dqlite does not wait for a lock as SQLite's busy timeout does.
func (d *DB) Transaction(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	conn := d.conn()
	if conn == d.local {
		return transaction(ctx, conn, d.node.Load(), fn)
	}

	_, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	pause := 5 * time.Millisecond
	for {
		err := transaction(ctx, conn, d.node.Load(), fn)
		if err == nil || !retryableSQL(err) || ctx.Err() != nil {
			return err
		}

		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause/2 + rand.N(pause)):
		}

		pause = min(2*pause, 250*time.Millisecond)
		conn = d.conn()
	}
}

// NodeTransaction runs fn in a transaction of local.db, which holds this server's own state (its node-local
// configuration). It is Transaction when the server is not clustered.
func (d *DB) NodeTransaction(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	return transaction(ctx, d.local, 0, fn)
}

// transaction is Transaction on the database db.
func transaction(ctx context.Context, db *sql.DB, node int64, fn func(ctx context.Context, tx *Tx) error) error {
	_, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", mapError(err))
	}

	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()

	err = fn(ctx, &Tx{tx: sqlTx, node: node})
	if err != nil {
		return err
	}

	err = sqlTx.Commit()
	if err != nil {
		return fmt.Errorf("committing transaction: %w", mapError(err))
	}

	committed = true
	return nil
}

// classError keeps SQLite's message and adds an lxd/errs class to it.
type classError struct {
	class error
	err   error
}

// Error returns the underlying message.
func (e *classError) Error() string {
	return e.err.Error()
}

// Unwrap exposes both the class and the original error to errors.Is/As.
func (e *classError) Unwrap() []error {
	return []error{e.class, e.err}
}

// mapError classifies SQLite errors: uniqueness and foreign key violations
// become ErrConflict, CHECK and NOT NULL violations ErrInvalid, a lock held
// past the busy timeout ErrBusy, and a missing row ErrNotFound.
func mapError(err error) error {
	if err == nil {
		return nil
	}

	if errors.Is(err, sql.ErrNoRows) {
		return &classError{class: errs.ErrNotFound, err: err}
	}

	serr, ok := asSQLiteError(err)
	if !ok {
		return err
	}

	switch serr.code {
	case codeConstraint:
		switch serr.extended {
		case extCheck, extNotNull:
			return &classError{class: errs.ErrInvalid, err: err}
		default:
			return &classError{class: errs.ErrConflict, err: err}
		}

	case codeBusy, codeLocked:
		return &classError{class: errs.ErrBusy, err: err}
	}

	if serr.retryable() {
		return &classError{class: errs.ErrBusy, err: err}
	}

	return err
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	serr, ok := asSQLiteError(err)
	return ok && (serr.extended == extUnique || serr.extended == extPrimaryKey)
}

// exec runs a statement and classifies its error.
func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	return res, mapError(err)
}

// execCount runs a statement and returns how many rows it changed.
func (t *Tx) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}

	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("counting changed rows: %w", err)
	}

	return n, nil
}

// lookupID runs a query selecting one id; no row gives notFound.
func (t *Tx) lookupID(ctx context.Context, notFound error, query string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(ctx, query, args, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound
	}

	if err != nil {
		return 0, err
	}

	return id, nil
}

// query runs a query and classifies its error.
func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	return rows, mapError(err)
}

// queryRow runs a single-row query and scans it; no row gives ErrNotFound.
func (t *Tx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return mapError(t.tx.QueryRowContext(ctx, query, args...).Scan(dest...))
}
