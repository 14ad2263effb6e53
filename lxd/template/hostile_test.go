package template

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostile are templates whose cost is not bounded by their own size, as an image from a remote server may carry.
var hostile = []struct {
	name string
	src  string
	want string // in the error
}{
	{"ljust", `{{ "x"|ljust:200000000|length }}`, "filter ljust"},
	{"rjust", `{{ "x"|rjust:200000000|length }}`, "filter rjust"},
	{"center", `{{ "x"|center:200000000|length }}`, "filter center"},
	{"floatformat", `{{ 1.5|floatformat:200000000|length }}`, "filter floatformat"},
	{"stringformat", `{{ 1|stringformat:"` + strings.Repeat("%[1]0999999d", 200) + `"|length }}`, "filter stringformat"},
	{"nested loops", `{% set s = "` + strings.Repeat("x", 10000) + `" %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}`, "steps"},
	{"nested loops writing", `{% set s = "` + strings.Repeat("x", 10000) + `" %}{% for a in s %}{% for b in s %}{{ b }}{% endfor %}{% endfor %}`, "steps"},
	{"add doubling", `{% set s = "x" %}{% for i in "` + strings.Repeat("i", 40) + `" %}{% set s = s|add:s %}{% endfor %}{{ s|length }}`, "filter add"},
	{"plus doubling", `{% set s = "x" %}{% for i in "` + strings.Repeat("i", 40) + `" %}{% set s = s + s %}{% endfor %}{{ s|length }}`, "value larger"},
	{"plus chain", `{% set s = "x"|ljust:1000000 %}{% set t = ` + strings.Repeat("s+", 40) + `s %}{{ t|length }}`, "+ operators"},
	{"with doubling", `{% set s = "x"|ljust:1000000 %}{% with a=s+s %}{% with b=a+a %}{% with c=b+b %}{{ c|length }}{% endwith %}{% endwith %}{% endwith %}`, "value larger"},
	{"join", `{{ "x"|ljust:30000|make_list|join:"` + strings.Repeat("y", 1000) + `"|length }}`, "filter join"},
	{"join string", `{{ "x"|ljust:1000000|join:""|length }}`, "filter join"},
	{"make_list", `{% for c in "x"|ljust:1000000|make_list %}{% endfor %}`, "filter make_list"},
	{"filters in a loop", `{% set s = "x"|ljust:300000 %}{% for i in "` + strings.Repeat("i", 1000) + `" %}{% if s|upper|length == 0 %}{% endif %}{% endfor %}`, "work"},
	{"long filter chain", `{% set s = "x"|ljust:300000 %}{% if s` + strings.Repeat("|upper", 1000) + ` %}{% endif %}`, "work"},
	{"removetags", `{% set t = "a," %}{% for i in "iiiiiiiiiiiiii" %}{% set t = t|add:t %}{% if forloop.Last %}{{ "x"|ljust:100000|removetags:t }}{% endif %}{% endfor %}`, "work"},
	{"long code", `{% if s == t ` + strings.Repeat("or s == t ", 2000) + `%}{% endif %}`, "longer than"},
	{"comparisons in a loop", `{% set s = "x"|ljust:1000000 %}{% set t = "x"|ljust:1000000 %}{% for i in "x"|ljust:200000 %}{% ifequal s t %}{% endifequal %}{% if s == t or s == t %}{% endif %}{% endfor %}`, "template budget exceeded"},
	{"macro recursion", `{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}`, "nested deeper"},
	{"macro argument", `{% macro m(a) %}{{ m(a+a) }}{% endmacro %}{{ m("x"|ljust:600000) }}`, "value larger"},
	{"macro output", `{% macro m() %}{% for i in "` + strings.Repeat("i", 2000) + `" %}` + strings.Repeat("z", 1000) + `{% endfor %}{% endmacro %}{{ m()|length }}`, "output larger"},
	{"macro fan-out", `{% macro m() %}` + strings.Repeat("z", 100000) + `{% endmacro %}{% for i in "` + strings.Repeat("i", 10000) + `" %}{% set x = m() %}{% endfor %}`, "work"},
	{"lorem", `{% lorem 100000000 w %}`, "output larger"},
	{"output", `{% for a in "` + strings.Repeat("x", 1000) + `" %}{% for b in "` + strings.Repeat("x", 1000) + `" %}` + strings.Repeat("y", 100) + `{% endfor %}{% endfor %}`, "output larger"},
	{"tokens", strings.Repeat("{{a}}", MaxSource/5), "tokens"},
	{"brackets", "{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", "brackets nested"},
	{"blocks", strings.Repeat("{% if 1 %}", 20000) + strings.Repeat("{% endif %}", 20000), "blocks nested"},
	{"cycle", `{% for i in "ab" %}{% cycle "" + s + s as s silent %}{% endfor %}`, "cycle"},
	{"spaceless", `{% spaceless %}<a> </a>{% endspaceless %}`, "spaceless"},
	{"filter tag", `{% filter upper %}x{% endfilter %}`, "filter"},
	{"ifchanged", `{% ifchanged %}x{% endifchanged %}`, "ifchanged"},
}

// deadlineBound are the hostile templates whose steps are each cheap but many: the deadline stops them.
var deadlineBound = map[string]bool{"comparisons in a loop": true}

// TestHostile renders each hostile template: it must fail fast, naming the template, with bounded memory.
func TestHostile(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-") + ".tpl"
			var out bytes.Buffer
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := Render(&out, name, []byte(tt.src), goldenCtx)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("rendered %d bytes, want an error", out.Len())
			}

			if !strings.Contains(err.Error(), `template "`+name+`"`) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want the template name and %q", err, tt.want)
			}

			// The race detector slows rendering several times: there, only the deadline is checked.
			if !raceEnabled && !deadlineBound[tt.name] && elapsed > MaxDuration/2 {
				t.Fatalf("took %s, want well under the deadline of %s", elapsed, MaxDuration)
			}

			if elapsed > MaxDuration+MaxDuration/4 {
				t.Fatalf("took %s, want the deadline of %s kept", elapsed, MaxDuration)
			}

			grown := int64(after.HeapSys) - int64(before.HeapSys)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s in %s, heap grown by %d KiB, %d KiB allocated", err, elapsed, grown>>10, allocated>>10)
			if !raceEnabled && grown > 64<<20 {
				t.Fatalf("heap grew by %d MiB, want under 64 MiB", grown>>20)
			}
		})
	}
}

// TestLimitError checks an overrun wraps ErrLimit and a syntax error does not.
func TestLimitError(t *testing.T) {
	var out bytes.Buffer
	err := Render(&out, "big.tpl", []byte(`{{ "x"|ljust:200000000 }}`), goldenCtx)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}

	err = Render(&out, "broken.tpl", []byte(`{% if %}`), goldenCtx)
	if err == nil || errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want a syntax error", err)
	}
}

// TestWithinBudget renders templates close to the bounds, which must still work.
func TestWithinBudget(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"output", `{{ "x"|ljust:1048575 }}`, MaxOutput - 1},
		{"loop", `{% for a in "` + strings.Repeat("x", 300) + `" %}{% for b in "` + strings.Repeat("x", 300) + `" %}{% endfor %}{% endfor %}`, 0},
		{"tokens", strings.Repeat("{{ a }}", 12000), 0},
		{"concat", `{% set s = "x"|ljust:60000 %}{{ ` + strings.Repeat("s+", MaxConcat) + `s }}`, 60000 * (MaxConcat + 1)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Render(&out, tt.name, []byte(tt.src), goldenCtx)
			if err != nil {
				t.Fatal(err)
			}

			if out.Len() != tt.want {
				t.Fatalf("got %d bytes, want %d", out.Len(), tt.want)
			}
		})
	}
}
