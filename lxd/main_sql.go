package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/state"
)

// The wire types of /internal/sql, as the daemon (lxd/rest/internal_sql.go) and stock LXD define them.

type sqlQuery struct {
	Database string `json:"database"`
	Query    string `json:"query"`
}

type sqlBatch struct {
	Results []sqlResult `json:"Results"`
}

type sqlResult struct {
	Type         string   `json:"type"`
	Columns      []string `json:"columns"`
	Rows         [][]any  `json:"rows"`
	RowsAffected int64    `json:"rows_affected"`
}

type sqlDump struct {
	Text string `json:"text"`
}

type cmdSQL struct {
	global *cmdGlobal
}

func (c *cmdSQL) command() *cobra.Command {
	return &cobra.Command{
		Use:   "sql <local|global> <query>",
		Short: "Execute a SQL query against the LXD local or global database",
		Long: `Execute a SQL query against the LXD local or global database

"local" is this server's own database; "global" is the cluster's database on a cluster member, and
the same database as "local" on a server that is not clustered.

If <query> is the special value "-", then the query is read from standard input.

If <query> is the special value ".dump", the command returns a SQL text dump of the database.

If <query> is the special value ".schema", the command returns the SQL text schema of the database.

The statements of a query (separated by semicolons) run in one transaction: if one fails, none
takes effect. Statements returning rows print a table, others the number of rows they changed.

Only root may run it. It is meant for debugging and disaster recovery: the statements bypass every
check of the API.`,
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE:   c.run,
	}
}

func (c *cmdSQL) run(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}

	if len(args) != 2 {
		return fmt.Errorf("want 2 arguments, <local|global> <query>, got %d", len(args))
	}

	database, query := args[0], args[1]
	if database != "local" && database != "global" {
		return fmt.Errorf("invalid database %q: want local or global", database)
	}

	if query == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("read the query from stdin: %w", err)
		}

		query = string(data)
	}

	d, err := client.ConnectLXDUnix(state.NewDirs(varDir()).UnixSocket(), &client.ConnectionArgs{SkipGetServer: true})
	if err != nil {
		return err
	}

	defer d.Disconnect()
	out := cmd.OutOrStdout()
	if query == ".dump" || query == ".schema" {
		v := url.Values{}
		v.Set("database", database)
		if query == ".schema" {
			v.Set("schema", "1")
		}

		resp, _, err := d.RawQuery(http.MethodGet, "/internal/sql?"+v.Encode(), nil, "")
		if err != nil {
			return fmt.Errorf("failed to request dump: %w", err)
		}

		var dump sqlDump
		err = json.Unmarshal(resp.Metadata, &dump)
		if err != nil {
			return fmt.Errorf("failed to parse dump response: %w", err)
		}

		_, err = io.WriteString(out, dump.Text)
		return err
	}

	resp, _, err := d.RawQuery(http.MethodPost, "/internal/sql", sqlQuery{Database: database, Query: query}, "")
	if err != nil {
		return fmt.Errorf("failed to execute query: %w", err)
	}

	var batch sqlBatch
	dec := json.NewDecoder(bytes.NewReader(resp.Metadata))
	dec.UseNumber()
	err = dec.Decode(&batch)
	if err != nil {
		return fmt.Errorf("failed to parse query response: %w", err)
	}

	return printSQLBatch(out, batch)
}

// printSQLBatch prints the results as stock LXD does: a table for each statement returning rows, "Rows affected: N"
// for the others, numbered when there are several.
func printSQLBatch(w io.Writer, batch sqlBatch) error {
	var b strings.Builder
	for i, res := range batch.Results {
		if len(batch.Results) > 1 {
			fmt.Fprintf(&b, "=> Query %d:\n\n", i)
		}

		if res.Type == "select" {
			b.WriteString(sqlTable(res))
		} else {
			fmt.Fprintf(&b, "Rows affected: %d\n", res.RowsAffected)
		}

		if len(batch.Results) > 1 {
			b.WriteString("\n")
		}
	}

	_, err := io.WriteString(w, b.String())
	return err
}

// sqlTable draws a result as stock LXD's tablewriter does: a border above and below the centred header and after the
// last row, cells left-aligned, values as Go prints them (NULL as <nil>), a multi-line cell on several lines.
func sqlTable(res sqlResult) string {
	cols := len(res.Columns)
	for _, row := range res.Rows {
		cols = max(cols, len(row))
	}

	widths := make([]int, cols)
	split := func(cells []string) [][]string {
		lines := make([][]string, cols)
		for i := range cols {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}

			lines[i] = strings.Split(cell, "\n")
			for _, l := range lines[i] {
				widths[i] = max(widths[i], utf8.RuneCountInString(l))
			}
		}

		return lines
	}

	header := split(res.Columns)
	rows := make([][][]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = fmt.Sprint(v)
		}

		rows = append(rows, split(cells))
	}

	var b strings.Builder
	rule := func() {
		b.WriteString("+")
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2) + "+")
		}

		b.WriteString("\n")
	}

	line := func(cells [][]string, center bool) {
		height := 1
		for _, c := range cells {
			height = max(height, len(c))
		}

		for l := range height {
			b.WriteString("|")
			for i, c := range cells {
				text := ""
				if l < len(c) {
					text = c[l]
				}

				pad := widths[i] - utf8.RuneCountInString(text)
				left := 0
				if center {
					left = pad / 2
				}

				b.WriteString(" " + strings.Repeat(" ", left) + text + strings.Repeat(" ", pad-left) + " |")
			}

			b.WriteString("\n")
		}
	}

	rule()
	line(header, true)
	rule()
	for _, r := range rows {
		line(r, false)
	}

	rule()
	return b.String()
}
