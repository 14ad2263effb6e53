package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
