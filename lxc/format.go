package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
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

// renderList is renderTable with YAML written as the stock client writes it.
func renderList(w io.Writer, format string, header []string, data [][]string, raw any) error {
	if format != formatYAML {
		return renderTable(w, format, header, data, raw)
	}

	out, err := yamlMarshalStock(raw)
	if err != nil {
		return err
	}

	_, err = w.Write(out)
	return err
}

// yamlMarshalStock encodes v as the stock client prints YAML: as yamlMarshal, except that a list which is the value
// of a mapping key is not indented under the key.
func yamlMarshalStock(v any) ([]byte, error) {
	out, err := yamlMarshal(v)
	if err != nil {
		return nil, err
	}

	return dedentKeySequences(out), nil
}

// dedentKeySequences moves each block sequence that is the value of a mapping key two columns left, with everything
// nested in it, so that its dashes line up with the key. Block scalars are moved but not looked into.
func dedentKeySequences(in []byte) []byte {
	lines := strings.SplitAfter(string(in), "\n")
	indentOf := func(s string) int {
		return len(s) - len(strings.TrimLeft(s, " "))
	}

	var out strings.Builder
	var keys []int
	scalarIndent := -1
	for i, line := range lines {
		content := strings.TrimRight(line, "\n")
		blank := strings.TrimSpace(content) == ""
		indent := indentOf(content)
		if !blank {
			for len(keys) > 0 && indent <= keys[len(keys)-1] {
				keys = keys[:len(keys)-1]
			}
		}

		shift := 2 * len(keys)
		if !blank && indent >= shift {
			out.WriteString(line[shift:])
		} else {
			out.WriteString(line)
		}

		if scalarIndent >= 0 && (blank || indent > scalarIndent) {
			continue
		}

		scalarIndent = -1
		if blank {
			continue
		}

		trimmed := strings.TrimLeft(content, " ")
		keyIndent := indent
		for strings.HasPrefix(trimmed, "- ") {
			trimmed = strings.TrimPrefix(trimmed, "- ")
			keyIndent += 2
		}

		if isBlockScalarHeader(trimmed) {
			scalarIndent = indent
			continue
		}

		if !strings.HasSuffix(trimmed, ":") {
			continue
		}

		for _, next := range lines[i+1:] {
			next = strings.TrimRight(next, "\n")
			if strings.TrimSpace(next) == "" {
				continue
			}

			if indentOf(next) == keyIndent+2 && strings.HasPrefix(strings.TrimLeft(next, " "), "-") {
				keys = append(keys, keyIndent)
			}

			break
		}
	}

	return []byte(out.String())
}

// isBlockScalarHeader reports whether a line (without indentation and dashes) opens a literal or folded scalar.
func isBlockScalarHeader(s string) bool {
	value := s
	k := strings.LastIndex(s, ": ")
	if k >= 0 {
		value = s[k+2:]
	}

	value = strings.TrimRight(value, "-+0123456789")
	return value == "|" || value == ">"
}

// naturalLess compares strings the way the stock client sorts lists: runs of digits compare by value, the rest
// byte by byte.
func naturalLess(a string, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := splitRun(a, true)
			nb, rb := splitRun(b, true)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}

			if ta != tb {
				return ta < tb
			}

			if len(na) != len(nb) {
				return len(na) < len(nb)
			}

			a, b = ra, rb
			continue
		}

		if da != db || a[0] != b[0] {
			return a[0] < b[0]
		}

		a, b = a[1:], b[1:]
	}

	return len(a) < len(b)
}

func isDigit(c byte) bool {
	return c >= '0' && c <= '9'
}

// splitRun splits s after its leading run of digits (or of non-digits).
func splitRun(s string, digits bool) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}

	return s[:i], s[i:]
}

func shortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}

	return fp
}

// lowerYesNo is how the image commands print booleans.
func lowerYesNo(b bool) string {
	if b {
		return "yes"
	}

	return "no"
}

// imageSize is how the stock client prints image sizes: MiB with two decimals, labelled MB.
func imageSize(size int64) string {
	return fmt.Sprintf("%.2fMB", float64(size)/1024/1024)
}

// timeIsSet reports whether a date is set: the zero time and the Unix epoch both mean unset.
func timeIsSet(t time.Time) bool {
	return t.Unix() > 0
}
