package db

import "database/sql"

// scanStrings reads a single string column from rows and closes them.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer func() { _ = rows.Close() }()

	var out []string
	for rows.Next() {
		var s string
		err := rows.Scan(&s)
		if err != nil {
			return nil, err
		}

		out = append(out, s)
	}

	return out, mapError(rows.Err())
}
