package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// TestOperationListStockGolden renders testdata/operations.json as testdata/stock-operation-list.* show the stock
// client printing the same operations.
func TestOperationListStockGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "operations.json"))
	if err != nil {
		t.Fatal(err)
	}

	var ops []api.Operation
	err = json.Unmarshal(raw, &ops)
	if err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{formatTable, formatCompact, formatCSV, formatJSON, formatYAML} {
		t.Run(format, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "stock-operation-list."+format))
			if err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			err = renderList(&out, format, operationListHeader, operationRows(ops), ops)
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}

	var empty bytes.Buffer
	err = renderList(&empty, formatTable, operationListHeader, operationRows(nil), []api.Operation{})
	if err != nil {
		t.Fatal(err)
	}

	want := "+----+------+-------------+--------+------------+---------+\n" +
		"| ID | TYPE | DESCRIPTION | STATUS | CANCELABLE | CREATED |\n" +
		"+----+------+-------------+--------+------------+---------+\n"
	if empty.String() != want {
		t.Fatalf("got empty table\n%s\nwant\n%s", empty.String(), want)
	}

	err = renderList(&bytes.Buffer{}, "xml", operationListHeader, nil, ops)
	if err == nil || err.Error() != `invalid format "xml"` {
		t.Fatalf("got %v for an unknown format", err)
	}
}

func TestPrintEvent(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	logging := api.Event{Type: "logging", Timestamp: ts, Location: "none",
		Metadata: json.RawMessage(`{"message":"Handling API request","level":"debug","context":{"method":"GET"}}`)}
	lifecycle := api.Event{Type: "lifecycle", Timestamp: ts, Location: "none", Project: "default",
		Metadata: json.RawMessage(`{"action":"image-created","source":"/1.0/images/abc"}`)}

	tests := []struct {
		name   string
		ev     api.Event
		pretty bool
		want   []string
	}{
		{"yaml logging", logging, false, []string{"location: none\nmetadata:\n  context:\n    method: GET\n  level: debug\n",
			"type: logging\n\n\n"}},
		{"yaml lifecycle", lifecycle, false, []string{"  action: image-created\n", "project: default\n"}},
		{"pretty logging", logging, true, []string{"DEBUG", "Handling API request", `method="GET"`}},
		{"pretty lifecycle", lifecycle, true, []string{"action=image-created source=/1.0/images/abc"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := printEvent(&out, tt.ev, tt.pretty)
			if err != nil {
				t.Fatal(err)
			}

			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("got\n%s\nwant it to contain %q", out.String(), w)
				}
			}

			if !tt.pretty && !strings.HasSuffix(out.String(), "\n\n\n") {
				t.Fatalf("got %q, want two blank lines after the event", out.String())
			}
		})
	}
}
