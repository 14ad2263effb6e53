package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Output formats of the list commands ("--format").
const (
	formatTable   = "table"
	formatCompact = "compact"
	formatCSV     = "csv"
	formatJSON    = "json"
	formatYAML    = "yaml"
)

// formatFlagHelp is the help of every --format flag.
const formatFlagHelp = "Format (csv|json|table|yaml|compact)"

// renderTable writes a list in one of the output formats. table and compact draw header and data as LXD does;
// csv writes the data rows only; json and yaml marshal raw, the API objects the rows were built from.
func renderTable(w io.Writer, format string, header []string, data [][]string, raw any) error {
	switch format {
	case formatTable:
		_, err := io.WriteString(w, drawTable(header, data, true))
		return err
	case formatCompact:
		_, err := io.WriteString(w, drawTable(header, data, false))
		return err
	case formatCSV:
		cw := csv.NewWriter(w)
		err := cw.WriteAll(data)
		if err != nil {
			return err
		}

		return cw.Error()
	case formatJSON:
		out, err := json.Marshal(raw)
		if err != nil {
			return err
		}

		_, err = fmt.Fprintf(w, "%s\n", out)
		return err
	case formatYAML:
		out, err := yamlMarshal(raw)
		if err != nil {
			return err
		}

		_, err = w.Write(out)
		return err
	}

	return fmt.Errorf("invalid format %q", format)
}

// yamlMarshal encodes v as YAML with two-space indentation, as the stock client prints it.
func yamlMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err := enc.Encode(v)
	if err != nil {
		return nil, err
	}

	err = enc.Close()
	if err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

// drawTable lays out header and rows. Cells may hold several lines. With borders it draws an ASCII box with a
// line after every row; without, columns are only separated by spaces (the compact format).
func drawTable(header []string, data [][]string, borders bool) string {
	cols := len(header)
	for _, row := range data {
		cols = max(cols, len(row))
	}

	// Split every cell into lines and measure the columns.
	widths := make([]int, cols)
	split := func(row []string) [][]string {
		cells := make([][]string, cols)
		for i := range cols {
			cell := ""
			if i < len(row) {
				cell = row[i]
			}

			cells[i] = strings.Split(cell, "\n")
			for _, line := range cells[i] {
				widths[i] = max(widths[i], utf8.RuneCountInString(line))
			}
		}

		return cells
	}

	headerCells := split(header)
	rows := make([][][]string, 0, len(data))
	for _, row := range data {
		rows = append(rows, split(row))
	}

	var b strings.Builder
	rule := func() {
		if !borders {
			return
		}

		b.WriteString("+")
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2))
			b.WriteString("+")
		}

		b.WriteString("\n")
	}

	writeRow := func(cells [][]string, center bool) {
		height := 0
		for _, c := range cells {
			height = max(height, len(c))
		}

		for l := range height {
			if borders {
				b.WriteString("|")
			} else {
				b.WriteString(" ")
			}

			for i, c := range cells {
				line := ""
				if l < len(c) {
					line = c[l]
				}

				pad := widths[i] - utf8.RuneCountInString(line)
				left := 0
				if center {
					left = pad / 2
				}

				b.WriteString(" ")
				b.WriteString(strings.Repeat(" ", left))
				b.WriteString(line)
				b.WriteString(strings.Repeat(" ", pad-left))
				b.WriteString(" ")
				if borders {
					b.WriteString("|")
				}
			}

			if !borders {
				b.WriteString(" ")
			}

			b.WriteString("\n")
		}
	}

	rule()
	writeRow(headerCells, true)
	rule()
	for _, r := range rows {
		writeRow(r, false)
		rule()
	}

	return b.String()
}

// sortRows sorts rows the way LXD sorts its lists: by the first column that differs, naturally (runs of digits by
// value), where an empty value comes after any other.
func sortRows(data [][]string) {
	sort.SliceStable(data, func(i, j int) bool {
		a, b := data[i], data[j]
		for k := range min(len(a), len(b)) {
			if a[k] == b[k] {
				continue
			}

			if a[k] == "" {
				return false
			}

			if b[k] == "" {
				return true
			}

			return naturalLess(a[k], b[k])
		}

		return len(a) < len(b)
	})
}
