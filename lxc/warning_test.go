package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// loadTestWarnings reads testdata/warnings.json, the daemon's answer the stock golden files were printed from.
func loadTestWarnings(t *testing.T) []api.Warning {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "warnings.json"))
	if err != nil {
		t.Fatal(err)
	}

	var ws []api.Warning
	err = json.Unmarshal(raw, &ws)
	if err != nil {
		t.Fatal(err)
	}

	return ws
}

// TestWarningListStockGolden renders testdata/warnings.json as testdata/stock-warning-*.* show the stock client
// printing the same warnings.
func TestWarningListStockGolden(t *testing.T) {
	ws := loadTestWarnings(t)
	tests := []struct {
		golden  string
		format  string
		columns string
		all     bool
	}{
		{"stock-warning-list.table", formatTable, defaultWarningColumns, false},
		{"stock-warning-list-all.table", formatTable, "utSscpfl", true},
		{"stock-warning-list-all.compact", formatCompact, "utSscpfl", true},
		{"stock-warning-list-all.csv", formatCSV, "utSscpfl", true},
		{"stock-warning-list-all.json", formatJSON, "utSscpfl", true},
		{"stock-warning-list-all.yaml", formatYAML, "utSscpfl", true},
	}

	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}

			columns, err := parseWarningColumns(tt.columns, false)
			if err != nil {
				t.Fatal(err)
			}

			visible := visibleWarnings(ws, tt.all)
			header, rows := warningTable(visible, columns)
			var out bytes.Buffer
			err = renderList(&out, tt.format, header, rows, visible)
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}

func TestWarningShowStockGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "stock-warning-show.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	ws := loadTestWarnings(t)
	for _, w := range ws {
		if w.UUID != "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" {
			continue
		}

		got, err := yamlMarshalStock(&w)
		if err != nil {
			t.Fatal(err)
		}

		if string(got) != string(want) {
			t.Fatalf("got:\n%s\nwant:\n%s", got, want)
		}

		return
	}

	t.Fatal("warning a1b2c3d4 missing from testdata/warnings.json")
}

func TestParseWarningColumns(t *testing.T) {
	tests := []struct {
		spec      string
		clustered bool
		want      []string
		err       string
	}{
		{defaultWarningColumns, false, []string{"UUID", "TYPE", "STATUS", "SEVERITY", "COUNT", "PROJECT", "LAST SEEN"}, ""},
		{defaultWarningColumns, true, []string{"UUID", "TYPE", "STATUS", "SEVERITY", "COUNT", "PROJECT", "LOCATION", "LAST SEEN"}, ""},
		{"u,t", false, []string{"UUID", "TYPE"}, ""},
		{"fl", false, []string{"FIRST SEEN", "LAST SEEN"}, ""},
		{"uL", false, nil, "can't specify column L when not clustered"},
		{"uL", true, []string{"UUID", "LOCATION"}, ""},
		{"ux", false, nil, "unknown column shorthand char 'x' in 'ux'"},
		{"u,", false, nil, "empty column entry (redundant, leading or trailing command) in 'u,'"},
	}

	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			cols, err := parseWarningColumns(tt.spec, tt.clustered)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v, want %q", err, tt.err)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			var names []string
			for _, c := range cols {
				names = append(names, c.name)
			}

			if len(names) != len(tt.want) {
				t.Fatalf("got %v, want %v", names, tt.want)
			}

			for i := range names {
				if names[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", names, tt.want)
				}
			}
		})
	}
}
