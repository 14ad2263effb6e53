package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

func TestPrintEvent(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	local := ts.Local().Format(time.RFC3339)
	logging := api.Event{Type: "logging", Timestamp: ts, Location: "none",
		Metadata: json.RawMessage(`{"message":"handling API request","level":"debug","context":{"method":"GET","ip":"@","types":"[]","empty":""}}`)}
	warning := api.Event{Type: "logging", Timestamp: ts, Location: "none",
		Metadata: json.RawMessage(`{"message":"disk full","level":"warn","context":{}}`)}
	lifecycle := api.Event{Type: "lifecycle", Timestamp: ts, Location: "none", Project: "default",
		Metadata: json.RawMessage(`{"action":"instance-started","source":"/1.0/instances/c1",` +
			`"requestor":{"username":"0","protocol":"unix","address":"@"}}`)}
	operation := api.Event{Type: "operation", Timestamp: ts, Location: "none", Project: "default",
		Metadata: json.RawMessage(`{"id":"fdc9","class":"task","description":"Stopping instance",` +
			`"created_at":"2026-12-06T23:01:45.845298602Z","updated_at":"2026-12-06T23:01:47.88258566Z",` +
			`"status":"Success","status_code":200,"resources":{"instances":["/1.0/instances/c1"],` +
			`"containers":["/1.0/containers/c1"]},"metadata":null,"may_cancel":false,"err":"","location":"none"}`)}

	tests := []struct {
		name     string
		ev       api.Event
		format   string
		minLevel string
		want     string
	}{
		{"yaml logging", logging, "yaml", "", "location: none\nmetadata:\n  context:\n    empty: \"\"\n    ip: '@'\n" +
			"    method: GET\n    types: '[]'\n  level: debug\n  message: handling API request\n" +
			"timestamp: \"2026-01-02T03:04:05Z\"\ntype: logging\n\n\n"},
		{"json lifecycle", lifecycle, "json", "", `{"location":"none","metadata":{"action":"instance-started",` +
			`"requestor":{"address":"@","protocol":"unix","username":"0"},"source":"/1.0/instances/c1"},` +
			`"project":"default","timestamp":"2026-01-02T03:04:05Z","type":"lifecycle"}` + "\n\n"},
		{"pretty logging", logging, "pretty", "", `time="` + local + `" level=debug msg="handling API request" ` +
			`empty= ip=@ method=GET types="[]"` + "\n"},
		{"pretty warn is warning", warning, "pretty", "warning", `time="` + local + `" level=warning msg="disk full"` + "\n"},
		{"pretty below the level", logging, "pretty", "info", ""},
		{"pretty lifecycle", lifecycle, "pretty", "", `time="` + local + `" level=info ` +
			`msg="Action: instance-started, Source: /1.0/instances/c1, Requestor: unix/0 (@)"` + "\n"},
		{"pretty lifecycle above the level", lifecycle, "pretty", "error", ""},
		{"pretty operation", operation, "pretty", "", `time="` + local + `" level=info ` +
			`msg="ID: fdc9, Class: task, Description: Stopping instance" ` +
			`CreatedAt="2026-12-06 23:01:45.845298602 +0000 UTC" Err= Location=none MayCancel=false ` +
			`Metadata="map[]" Resources="map[containers:[/1.0/containers/c1] instances:[/1.0/instances/c1]]" ` +
			`Status=Success StatusCode=Success UpdatedAt="2026-12-06 23:01:47.88258566 +0000 UTC"` + "\n"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			minLevel := 0
			for i, l := range logLevels {
				if l == tt.minLevel {
					minLevel = i
				}
			}

			var out bytes.Buffer
			err := printEvent(&out, tt.ev, tt.format, minLevel)
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", out.String(), tt.want)
			}
		})
	}
}

func TestLogfmtValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc-DEF_0.9/@^+", "abc-DEF_0.9/@^+"},
		{"a b", `"a b"`},
		{"[]", `"[]"`},
		{`say "hi"`, `"say \"hi\""`},
		{"k=v", `"k=v"`},
	}

	for _, tt := range tests {
		got := logfmtValue(tt.in)
		if got != tt.want {
			t.Errorf("logfmtValue(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestMonitorFlags checks the refusals of bad flag combinations, before any connection is made.
func TestMonitorFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, "invalid format: xml"},
		{[]string{"--loglevel", "info"}, "log level filtering can only be used with pretty formatting"},
		{[]string{"--pretty", "--loglevel", "bogus"}, `invalid log level "bogus"`},
		{[]string{"--format", "pretty", "--loglevel", "loud"}, `invalid log level "loud"`},
		{[]string{"--type", "bogus"}, `invalid event type "bogus"`},
		{[]string{"local:c1"}, `invalid remote "local:c1": use "local:"`},
	}

	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runCommand(t, "", append([]string{"monitor"}, tt.args...)...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
