package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// askYesNo takes yes, y, no, n and an empty answer (no), asking again after anything else, as the stock client.
func TestAskYesNo(t *testing.T) {
	cases := []struct {
		input string
		want  bool
		asked int
	}{
		{"yes\n", true, 1},
		{"Y\n", true, 1},
		{"\n", false, 1},
		{"n\n", false, 1},
		{"maybe\nyes\n", true, 2},
	}

	for _, c := range cases {
		var out bytes.Buffer
		a := &asker{raw: strings.NewReader(c.input), in: bufio.NewReader(strings.NewReader(c.input)), out: &out}
		got, err := askYesNo(a, "Q? ")
		if err != nil || got != c.want || strings.Count(out.String(), "Q? ") != c.asked {
			t.Errorf("%q: %v, %v, asked %q", c.input, got, err, out.String())
		}
	}

	var out bytes.Buffer
	a := &asker{raw: strings.NewReader(""), in: bufio.NewReader(strings.NewReader("")), out: &out}
	_, err := askYesNo(a, "Q? ")
	if err == nil {
		t.Fatal("no answer at all was taken")
	}
}
