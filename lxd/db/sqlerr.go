package db

import (
	"errors"

	dqlitedriver "github.com/canonical/go-dqlite/driver"
	"github.com/mattn/go-sqlite3"
)

// SQLite result codes the daemon tells apart (SQLite's own numbers, which both engines report).
const (
	codeBusy       = 5
	codeLocked     = 6
	codeConstraint = 19

	extCheck      = codeConstraint | 1<<8
	extPrimaryKey = codeConstraint | 6<<8
	extNotNull    = codeConstraint | 5<<8
	extUnique     = codeConstraint | 8<<8

	// dqlite's "not leader" and "leadership lost" (SQLITE_IOERR with its own extended codes): the statement did not
	// run and may be tried again once a leader is known.
	extNotLeader      = 10 | 40<<8
	extLeadershipLost = 10 | 41<<8
)

// sqliteError is the result code of a failed statement, from go-sqlite3 (local.db) or dqlite (the cluster database).
type sqliteError struct {
	code     int
	extended int
	message  string
}

// asSQLiteError extracts SQLite's result code from err.
func asSQLiteError(err error) (sqliteError, bool) {
	var serr sqlite3.Error
	if errors.As(err, &serr) {
		return sqliteError{code: int(serr.Code), extended: int(serr.ExtendedCode), message: serr.Error()}, true
	}

	var derr dqlitedriver.Error
	if errors.As(err, &derr) {
		return sqliteError{code: derr.Code & 0xff, extended: derr.Code, message: derr.Message}, true
	}

	return sqliteError{}, false
}

// retryable reports whether the cluster database refused a transaction only because its leader changed or is not
// known yet.
func (e sqliteError) retryable() bool {
	return e.extended == extNotLeader || e.extended == extLeadershipLost
}

// retryableSQL reports whether err comes from a statement of the cluster database that did not run only because
// another transaction held the database or its leader changed: the transaction may be run again.
func retryableSQL(err error) bool {
	serr, ok := asSQLiteError(err)
	return ok && (serr.code == codeBusy || serr.code == codeLocked || serr.retryable())
}
