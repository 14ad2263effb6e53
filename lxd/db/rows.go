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

// scanKeyValues reads key and value rows into a map, and closes rows.
func scanKeyValues(rows *sql.Rows) (map[string]string, error) {
	defer func() { _ = rows.Close() }()

	out := map[string]string{}
	for rows.Next() {
		var k, v string
		err := rows.Scan(&k, &v)
		if err != nil {
			return nil, err
		}

		out[k] = v
	}

	return out, mapError(rows.Err())
}
