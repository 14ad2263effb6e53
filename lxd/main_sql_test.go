package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// decodeBatch decodes an /internal/sql answer as the command does.
func decodeBatch(t *testing.T, metadata string) sqlBatch {
	t.Helper()
	var batch sqlBatch
	dec := json.NewDecoder(strings.NewReader(metadata))
	dec.UseNumber()
	err := dec.Decode(&batch)
	if err != nil {
		t.Fatal(err)
	}

	return batch
}

func TestPrintSQLBatch(t *testing.T) {
	cases := []struct {
		name     string
		metadata string
		want     string
	}{
		{
			// Stock LXD's tablewriter: centred header, left-aligned cells, no line between rows, NULL as <nil>,
			// integers as written.
			"select",
			`{"Results":[{"type":"select","columns":["key","value","n"],"rows":[["core.https_address","127.0.0.1:8443",1700000000],["x",null,1.5]],"rows_affected":0}]}`,
			`+--------------------+----------------+------------+
|        key         |     value      |     n      |
+--------------------+----------------+------------+
| core.https_address | 127.0.0.1:8443 | 1700000000 |
| x                  | <nil>          | 1.5        |
+--------------------+----------------+------------+
`,
		},
		{
			"no rows",
			`{"Results":[{"type":"select","columns":["id"],"rows":null,"rows_affected":0}]}`,
			`+----+
| id |
+----+
+----+
`,
		},
		{
			"multi-line cell",
			`{"Results":[{"type":"select","columns":["a","b"],"rows":[["one\ntwo","x"]],"rows_affected":0}]}`,
			`+-----+---+
|  a  | b |
+-----+---+
| one | x |
| two |   |
+-----+---+
`,
		},
		{
			"exec",
			`{"Results":[{"type":"exec","columns":null,"rows":null,"rows_affected":3}]}`,
			"Rows affected: 3\n",
		},
		{
			"several",
			`{"Results":[{"type":"exec","rows_affected":1},{"type":"select","columns":["n"],"rows":[[2]]}]}`,
			`=> Query 0:

Rows affected: 1

=> Query 1:

+---+
| n |
+---+
| 2 |
+---+

`,
		},
		{"none", `{"Results":[]}`, ""},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := printSQLBatch(&out, decodeBatch(t, c.metadata))
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), c.want)
			}
		})
	}
}

func TestSQLArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"global"}, "want 2 arguments"},
		{[]string{"global", "SELECT 1", "extra"}, "want 2 arguments"},
		{[]string{"cluster", "SELECT 1"}, `invalid database "cluster": want local or global`},
	}

	for _, c := range cases {
		_, _, err := runApp(t, append([]string{"sql"}, c.args...), "sql")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.args, err, c.want)
		}
	}

	// Without arguments it prints its help, as stock LXD does.
	_, out, err := runApp(t, []string{"sql"}, "sql")
	if err != nil || !strings.Contains(out, "lxd sql <local|global> <query>") {
		t.Errorf("no arguments: got %v and %q, want the help", err, out)
	}
}
