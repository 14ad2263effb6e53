package db

import (
	"fmt"
	"time"
)

// timeLayout stores times as UTC text with a fixed number of fractional
// digits, so that text order is time order and sqlite3 shows them readably.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// timeArg is the SQL value for t: NULL for the zero time, UTC text otherwise.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}

	return t.UTC().Format(timeLayout)
}

// nullTime scans a column written by timeArg; NULL gives the zero time.
type nullTime struct {
	Time time.Time
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		n.Time = time.Time{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	case time.Time:
		n.Time = v.UTC()
		return nil
	default:
		return fmt.Errorf("scanning time from %T", src)
	}

	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("parsing stored time %q: %w", s, err)
	}

	n.Time = t.UTC()
	return nil
}
