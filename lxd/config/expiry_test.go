package config

import (
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	from := time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"":       {},
		"3H":     from.Add(3 * time.Hour),
		"30M":    from.Add(30 * time.Minute),
		"1d 12H": from.Add(36 * time.Hour),
		"2w":     from.AddDate(0, 0, 14),
		"1m":     from.AddDate(0, 1, 0),
		"1y":     from.AddDate(1, 0, 0),
	}

	for v, want := range cases {
		got, err := Expiry(v, from)
		if err != nil || !got.Equal(want) {
			t.Errorf("Expiry(%q) = %v, %v; want %v", v, got, err, want)
		}
	}

	for _, v := range []string{"3", "H", "3h", "-1H", "1.5H", "3H x"} {
		_, err := Expiry(v, from)
		if err == nil {
			t.Errorf("Expiry(%q) accepted", v)
		}
	}
}
