package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expiry returns the time an expiry written as LXD writes them ("3H", "1d 12H": amounts of minutes M, hours H,
// days d, weeks w, months m and years y, separated by spaces) ends after from. An empty expiry never ends: the
// zero time.
func Expiry(v string, from time.Time) (time.Time, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return time.Time{}, nil
	}

	t := from
	for _, f := range fields {
		n, err := strconv.Atoi(f[:len(f)-1])
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("invalid expiry %q: %q is not an amount followed by M, H, d, w, m or y", v, f)
		}

		switch f[len(f)-1] {
		case 'M':
			t = t.Add(time.Duration(n) * time.Minute)
		case 'H':
			t = t.Add(time.Duration(n) * time.Hour)
		case 'd':
			t = t.AddDate(0, 0, n)
		case 'w':
			t = t.AddDate(0, 0, 7*n)
		case 'm':
			t = t.AddDate(0, n, 0)
		case 'y':
			t = t.AddDate(n, 0, 0)
		default:
			return time.Time{}, fmt.Errorf("invalid expiry %q: unknown unit in %q (M, H, d, w, m or y)", v, f)
		}
	}

	return t, nil
}

func validateExpiry(v string) error {
	_, err := Expiry(v, time.Now())
	return err
}
