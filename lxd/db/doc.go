// Package db is the daemon's local SQLite database: opening and upgrading it,
// transactions, and typed accessors for each entity (config, certificates,
// images and their aliases, patches). It is the only package that sees
// *sql.DB and *sql.Tx; callers work through DB.Transaction and the methods of
// Tx. Errors wrap the classes of lxd/errs so the REST layer can map them.
//
// See doc/database.md for the pragmas, the tables and how to change the schema.
package db
