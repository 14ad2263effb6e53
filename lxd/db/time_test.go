package db

import (
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
	}{
		{"zero", time.Time{}},
		{"epoch", time.Unix(0, 0)},
		{"nanoseconds", time.Date(2026, 11, 23, 8, 16, 39, 221692680, time.UTC)},
		{"other zone", time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -5*3600))},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got nullTime
			err := got.Scan(timeArg(tt.in))
			if err != nil {
				t.Fatal(err)
			}

			if !got.Time.Equal(tt.in) || got.Time.IsZero() != tt.in.IsZero() {
				t.Fatalf("got %v, want %v", got.Time, tt.in)
			}

			if got.Time.Location() != time.UTC {
				t.Fatalf("got location %v, want UTC", got.Time.Location())
			}
		})
	}
}

func TestTimeTextOrder(t *testing.T) {
	a := timeArg(time.Date(2026, 1, 1, 0, 0, 0, 900000000, time.UTC)).(string)
	b := timeArg(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)).(string)
	if a >= b {
		t.Fatalf("got %q >= %q, want text order to follow time order", a, b)
	}
}

func TestTimeScanRejectsGarbage(t *testing.T) {
	for _, src := range []any{"yesterday", 42} {
		var got nullTime
		err := got.Scan(src)
		if err == nil {
			t.Fatalf("scanning %v: got nil, want an error", src)
		}
	}
}
