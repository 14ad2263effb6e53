package main

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestConsoleInput(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		oneByte  bool
		want     string
		detached bool
	}{
		{name: "plain", input: "ls\r", want: "ls\r"},
		{name: "detach", input: "ls\r\x01qignored", want: "ls\r", detached: true},
		{name: "detach split", input: "ab\x01q", oneByte: true, want: "ab", detached: true},
		{name: "escape passed on", input: "\x01a\x01q", want: "\x01a", detached: true},
		{name: "escape twice", input: "\x01\x01q", want: "\x01q"},
		{name: "escape then other", input: "x\x01b", oneByte: true, want: "x\x01b"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.input)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}

			detach := make(chan bool)
			got, err := io.ReadAll(&consoleInput{r: r, detach: detach})
			if err != nil {
				t.Fatal(err)
			}

			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}

			detached := false
			select {
			case <-detach:
				detached = true
			default:
			}

			if detached != tt.detached {
				t.Errorf("detached %v, want %v", detached, tt.detached)
			}
		})
	}
}
