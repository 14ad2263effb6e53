package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

func TestRenderOperationList(t *testing.T) {
	header := []string{"ID", "STATUS"}
	rows := [][]string{{"abc", "RUNNING"}, {"d", "SUCCESS"}}
	data := []map[string]string{{"id": "abc"}}
	tests := []struct {
		format string
		want   string
	}{
		{"table", "+-----+---------+\n| ID  | STATUS  |\n+-----+---------+\n| abc | RUNNING |\n| d   | SUCCESS |\n" +
			"+-----+---------+\n"},
		{"csv", "abc,RUNNING\nd,SUCCESS\n"},
		{"json", `[{"id":"abc"}]` + "\n"},
		{"yaml", "- id: abc\n"},
	}

	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out bytes.Buffer
			err := renderOperationList(&out, tt.format, header, rows, data)
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}

	err := renderOperationList(&bytes.Buffer{}, "xml", header, rows, data)
	if err == nil {
		t.Fatal("got no error for an unknown format")
	}

	var empty bytes.Buffer
	writeOperationTable(&empty, []string{"ID", "TYPE"}, nil)
	if empty.String() != "+----+------+\n| ID | TYPE |\n+----+------+\n" {
		t.Fatalf("got empty table\n%s", empty.String())
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
