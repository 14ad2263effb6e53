package db

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-sqlite3"

	"github.com/lxd-go/lxd/lxd/errs"
)

// SQLResult is what one statement of RunSQL produced. A statement that returns rows (SELECT, most PRAGMAs, a
// RETURNING clause) has Columns (never nil) and Rows; any other statement has RowsAffected.
type SQLResult struct {
	Columns []string

	// Rows holds int64, float64, string or nil values; a BLOB is a string when it is valid UTF-8 and SQLite's
	// X'<hex>' literal otherwise.
	Rows [][]any

	// RowsAffected is how many rows an INSERT, UPDATE or DELETE changed itself (not through triggers or foreign
	// key actions); 0 for other statements.
	RowsAffected int64
}

// ReturnsRows reports whether the statement returned rows rather than a count.
func (r SQLResult) ReturnsRows() bool {
	return r.Columns != nil
}

// RunSQL runs the statements of query, separated by semicolons, in order and in one transaction: they all take
// effect or, when one fails, none does. It is the administrator's raw access ("lxd sql"). SQLite refusing a
// statement (syntax, unknown table, constraint) is an errs.ErrInvalid error carrying SQLite's message, prefixed with
// the statement's position when there are several. Transaction control (BEGIN, COMMIT, END, ROLLBACK) is refused,
// as it would end the transaction the statements run in.
func (d *DB) RunSQL(ctx context.Context, query string) ([]SQLResult, error) {
	stmts := splitSQL(query)
	if len(stmts) == 0 {
		return nil, errs.Invalid("no SQL statement in the query")
	}

	for i, st := range stmts {
		if isTransactionControl(st.words) {
			return nil, statementError(i, len(stmts), errs.Invalid("%s is not allowed: the statements already run in one transaction", st.words[0]))
		}
	}

	// An error of a statement is classified where it happens; one of the transaction (begin, commit: a deferred
	// foreign key check) afterwards.
	var results []SQLResult
	var stmtErr error
	err := d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		results = make([]SQLResult, 0, len(stmts))
		for i, st := range stmts {
			res, err := tx.runStatement(ctx, st.text)
			if err != nil {
				stmtErr = statementError(i, len(stmts), classifySQLError(ctx, err))
				return stmtErr
			}

			results = append(results, res)
		}

		return nil
	})
	if stmtErr != nil {
		return nil, stmtErr
	}

	if err != nil {
		// A deferred foreign key check fails at commit: the statements' fault.
		serr, ok := asSQLiteError(err)
		if ok && serr.code == codeConstraint {
			return nil, errs.Invalid("%s", serr.message)
		}

		return nil, err
	}

	return results, nil
}

// runStatement runs one statement and collects its rows or its count of changed rows.
func (t *Tx) runStatement(ctx context.Context, stmt string) (SQLResult, error) {
	// total_changes() moves only when an INSERT, UPDATE or DELETE ran; changes() keeps the count of the last one, so
	// it alone would report a stale count for a DDL statement.
	var before int64
	err := t.tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before)
	if err != nil {
		return SQLResult{}, err
	}

	// go-sqlite3 runs the statement when it is queried, whether or not it returns rows.
	rows, err := t.tx.QueryContext(ctx, stmt)
	if err != nil {
		return SQLResult{}, err
	}

	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return SQLResult{}, err
	}

	if len(cols) == 0 {
		for rows.Next() {
		}

		err = rows.Err()
		if err != nil {
			return SQLResult{}, err
		}

		_ = rows.Close()
		var after, changes int64
		err = t.tx.QueryRowContext(ctx, "SELECT total_changes(), changes()").Scan(&after, &changes)
		if err != nil {
			return SQLResult{}, err
		}

		res := SQLResult{}
		if after != before {
			res.RowsAffected = changes
		}

		return res, nil
	}

	res := SQLResult{Columns: cols, Rows: [][]any{}}
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}

		err = rows.Scan(ptrs...)
		if err != nil {
			return SQLResult{}, err
		}

		for i, v := range row {
			b, ok := v.([]byte)
			if !ok {
				continue
			}

			if utf8.Valid(b) {
				row[i] = string(b)
			} else {
				row[i] = "X'" + strings.ToUpper(hex.EncodeToString(b)) + "'"
			}
		}

		res.Rows = append(res.Rows, row)
	}

	return res, rows.Err()
}

// statementError prefixes err with the position of the statement that failed, when there are several; the class of
// err is kept.
func statementError(i int, n int, err error) error {
	if n < 2 {
		return err
	}

	return fmt.Errorf("statement %d: %w", i+1, err)
}

// classifySQLError gives the error of a statement its class: what SQLite refuses in the statement itself is
// ErrInvalid with SQLite's message alone, a lock held too long ErrBusy; failures of the database (I/O, corruption,
// a full disk) and an expired context stay unclassified.
func classifySQLError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("query interrupted: %w", ctx.Err())
	}

	serr, ok := asSQLiteError(err)
	if !ok {
		// go-sqlite3's own checks, such as a statement with parameters.
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return err
		}

		return errs.Invalid("%s", err.Error())
	}

	switch sqlite3.ErrNo(serr.code) {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return errs.Busy("%s", serr.message)
	case sqlite3.ErrIoErr, sqlite3.ErrCorrupt, sqlite3.ErrFull, sqlite3.ErrNomem, sqlite3.ErrCantOpen,
		sqlite3.ErrNotADB, sqlite3.ErrInternal, sqlite3.ErrProtocol, sqlite3.ErrInterrupt:
		return err
	}

	return errs.Invalid("%s", serr.message)
}

// sqlStatement is one statement of a query with its first words, upper-cased, to recognise its kind.
type sqlStatement struct {
	text  string
	words []string
}

// isTransactionControl reports whether a statement would begin or end a transaction. ROLLBACK TO a savepoint does
// neither.
func isTransactionControl(words []string) bool {
	if len(words) == 0 {
		return false
	}

	switch words[0] {
	case "BEGIN", "COMMIT", "END":
		return true
	case "ROLLBACK":
		rest := words[1:]
		if len(rest) > 0 && rest[0] == "TRANSACTION" {
			rest = rest[1:]
		}

		return len(rest) == 0 || rest[0] != "TO"
	}

	return false
}

// isTrigger reports whether a statement creates a trigger, whose body holds semicolons up to its END.
func isTrigger(words []string) bool {
	if len(words) < 2 || words[0] != "CREATE" {
		return false
	}

	if words[1] == "TEMP" || words[1] == "TEMPORARY" {
		return len(words) > 2 && words[2] == "TRIGGER"
	}

	return words[1] == "TRIGGER"
}

// splitSQL cuts a query into statements at the semicolons outside string literals, quoted identifiers and comments,
// as sqlite3_complete does: in a CREATE TRIGGER, only a semicolon right after END ends the statement. Statements
// holding nothing but blanks and comments are dropped.
func splitSQL(query string) []sqlStatement {
	var out []sqlStatement
	start := 0
	var words []string
	afterEnd := false
	hasToken := false
	cut := func(end int) {
		if hasToken {
			out = append(out, sqlStatement{text: strings.TrimSpace(query[start:end]), words: words})
		}

		start = end + 1
		words = nil
		afterEnd = false
		hasToken = false
	}

	// skipTo returns the index after the first occurrence of closer at or after from, or the end of the query.
	skipTo := func(from int, closer string) int {
		j := strings.Index(query[from:], closer)
		if j < 0 {
			return len(query)
		}

		return from + j + len(closer)
	}

	i := 0
	for i < len(query) {
		c := query[i]
		switch {
		case strings.HasPrefix(query[i:], "--"):
			i = skipTo(i+2, "\n")
		case strings.HasPrefix(query[i:], "/*"):
			i = skipTo(i+2, "*/")
		case c == '\'' || c == '"' || c == '`':
			// A doubled quote inside reads as two adjacent literals, which is the same for splitting.
			i = skipTo(i+1, string(c))
			hasToken = true
			afterEnd = false
		case c == '[':
			i = skipTo(i+1, "]")
			hasToken = true
			afterEnd = false
		case c == ';':
			if isTrigger(words) && !afterEnd {
				i++
				continue
			}

			cut(i)
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case isSQLWordByte(c):
			j := i
			for j < len(query) && isSQLWordByte(query[j]) {
				j++
			}

			w := strings.ToUpper(query[i:j])
			if len(words) < 4 {
				words = append(words, w)
			}

			afterEnd = w == "END"
			hasToken = true
			i = j
		default:
			hasToken = true
			afterEnd = false
			i++
		}
	}

	cut(len(query))
	return out
}

// isSQLWordByte reports whether c belongs to a keyword, an identifier or a number.
func isSQLWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// DumpSQL returns the database as SQL text that rebuilds it, as "sqlite3 .dump" writes it: the tables with their
// rows, then the indexes, triggers and views, in one transaction with foreign keys off. With schemaOnly, only the
// CREATE statements.
func (d *DB) DumpSQL(ctx context.Context, schemaOnly bool) (string, error) {
	var b strings.Builder
	err := d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		type object struct {
			kind string
			name string
			sql  string
		}

		rows, err := tx.query(ctx, "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
		if err != nil {
			return err
		}

		var objects []object
		for rows.Next() {
			var o object
			err = rows.Scan(&o.kind, &o.name, &o.sql)
			if err != nil {
				_ = rows.Close()
				return err
			}

			objects = append(objects, o)
		}

		_ = rows.Close()
		err = rows.Err()
		if err != nil {
			return err
		}

		if !schemaOnly {
			b.WriteString("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n")
		}

		hasSequence := false
		for _, o := range objects {
			if o.kind != "table" {
				continue
			}

			if strings.HasPrefix(o.name, "sqlite_") {
				hasSequence = hasSequence || o.name == "sqlite_sequence"
				continue
			}

			b.WriteString(o.sql + ";\n")
			if !schemaOnly {
				err = tx.dumpRows(ctx, &b, o.name)
				if err != nil {
					return err
				}
			}
		}

		if hasSequence && !schemaOnly {
			b.WriteString("DELETE FROM sqlite_sequence;\n")
			err = tx.dumpRows(ctx, &b, "sqlite_sequence")
			if err != nil {
				return err
			}
		}

		for _, o := range objects {
			if o.kind != "table" {
				b.WriteString(o.sql + ";\n")
			}
		}

		if !schemaOnly {
			b.WriteString("COMMIT;\n")
		}

		return nil
	})
	if err != nil {
		return "", fmt.Errorf("dumping the database: %w", err)
	}

	return b.String(), nil
}

// dumpRows writes an INSERT statement for every row of table, its values written by SQLite's quote().
func (t *Tx) dumpRows(ctx context.Context, b *strings.Builder, table string) error {
	name := quoteIdent(table)
	rows, err := t.query(ctx, "SELECT * FROM "+name+" LIMIT 0")
	if err != nil {
		return err
	}

	cols, err := rows.Columns()
	_ = rows.Close()
	if err != nil {
		return err
	}

	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "quote(" + quoteIdent(c) + ")"
	}

	rows, err = t.query(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+name)
	if err != nil {
		return err
	}

	defer func() { _ = rows.Close() }()
	values := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}

	parts := make([]string, len(cols))
	for rows.Next() {
		err = rows.Scan(ptrs...)
		if err != nil {
			return err
		}

		for i, v := range values {
			parts[i] = v.String
		}

		fmt.Fprintf(b, "INSERT INTO %s VALUES(%s);\n", name, strings.Join(parts, ","))
	}

	return mapError(rows.Err())
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
