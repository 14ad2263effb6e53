package template

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// A cost tells, before a filter runs and without allocating, the most memory its result may take (out) and the
// work it may do (work), both in bytes.
type cost func(in *pongo2.Value, param *pongo2.Value) (out int, work int)

// filterCosts has a cost for each of pongo2's built-in filters.
var filterCosts = map[string]cost{
	"add":                addCost,
	"addslashes":         scaled(2),
	"capfirst":           scaled(3),
	"center":             padCost,
	"cut":                scaled(1),
	"date":               dateCost,
	"default":            small,
	"default_if_none":    small,
	"divisibleby":        small,
	"e":                  escapeCost,
	"escape":             escapeCost,
	"escapejs":           scaled(6),
	"first":              small,
	"float":              small,
	"floatformat":        floatformatCost,
	"get_digit":          small,
	"integer":            small,
	"iriencode":          scaled(3),
	"join":               joinCost,
	"last":               small,
	"length":             small,
	"length_is":          small,
	"linebreaks":         scaled(14),
	"linebreaksbr":       scaled(6),
	"linenumbers":        scaled(10),
	"ljust":              padCost,
	"lower":              scaled(3),
	"make_list":          scaled(32), // a one-rune string and its header per rune
	"phone2numeric":      repeatedCost(52),
	"pluralize":          paramCost,
	"random":             small,
	"removetags":         removetagsCost,
	"rjust":              padCost,
	"safe":               small,
	"slice":              scaled(1),
	"split":              splitCost,
	"stringformat":       stringformatCost,
	"striptags":          scaled(1),
	"time":               dateCost,
	"title":              scaled(3),
	"truncatechars":      scaled(1),
	"truncatechars_html": scaled(3),
	"truncatewords":      scaled(1),
	"truncatewords_html": scaled(3),
	"upper":              scaled(3),
	"urlencode":          scaled(3),
	"urlize":             scaled(40),
	"urlizetrunc":        scaled(40),
	"wordcount":          small,
	"wordwrap":           scaled(2),
	"yesno":              paramCost,
}

func init() {
	for name, fn := range builtinFilters {
		c, ok := filterCosts[name]
		if !ok {
			panic(fmt.Sprintf("template: no cost for the pongo2 filter %q", name))
		}

		err := pongo2.ReplaceFilter(name, bounded(name, fn, c))
		if err != nil {
			panic(err)
		}
	}
}

// bounded wraps a filter: a result larger than MaxValue is refused before the filter runs, and each call is a
// step charged with its work to the budget of the render.
func bounded(name string, fn pongo2.FilterFunction, c cost) pongo2.FilterFunction {
	return func(in *pongo2.Value, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		out, work := c(in, param)
		if out > MaxValue {
			return nil, filterError(name, active.fail(fmt.Sprintf("filter %s: its result may take more than %d bytes", name, MaxValue)))
		}

		err := active.spend(work)
		if err != nil {
			return nil, filterError(name, err)
		}

		return fn(in, param)
	}
}

func filterError(name string, err error) *pongo2.Error {
	return &pongo2.Error{Sender: "filter:" + name, OrigError: err}
}

// size is what a value weighs in bytes: a string its length, a list or a map 16 bytes an item.
func size(v *pongo2.Value) int {
	if v == nil || v.IsNil() {
		return 0
	}

	rv := reflect.ValueOf(v.Interface())
	switch rv.Kind() {
	case reflect.String:
		return rv.Len()
	case reflect.Slice, reflect.Array, reflect.Map:
		return mul(rv.Len(), 16)
	}

	return 16
}

// add and mul saturate at math.MaxInt, so a cost never wraps around.
func add(a int, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}

	return a + b
}

func mul(a int, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}

	return a * b
}

// abs is |n|, saturated.
func abs(n int) int {
	if n == math.MinInt {
		return math.MaxInt
	}

	if n < 0 {
		return -n
	}

	return n
}

// charged is the work of a call producing out from in and param.
func charged(in *pongo2.Value, param *pongo2.Value, out int) (int, int) {
	return out, add(add(size(in), size(param)), out)
}

// small is a filter whose result is a number, a boolean, its input or its parameter.
func small(in *pongo2.Value, param *pongo2.Value) (int, int) {
	return charged(in, param, 16)
}

// scaled is a filter whose result is at most k bytes a byte of its input.
func scaled(k int) cost {
	return func(in *pongo2.Value, param *pongo2.Value) (int, int) {
		return charged(in, param, add(mul(k, size(in)), 16))
	}
}

// repeatedCost is a filter going k times over its input, its result no larger.
func repeatedCost(k int) cost {
	return func(in *pongo2.Value, param *pongo2.Value) (int, int) {
		out, work := charged(in, param, size(in))
		return out, add(work, mul(k, size(in)))
	}
}

// paramCost is a filter whose result is a part of its parameter.
func paramCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	return charged(in, param, add(size(param), 16))
}

// escapeCost: exact, since autoescape runs escape on every string written.
func escapeCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	s := in.String()
	out := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '\'':
			out += 4
		case '"':
			out += 5
		}
	}

	return charged(in, param, out)
}

// addCost: numbers add up, anything else is concatenated as strings.
func addCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	if in.IsNumber() && param.IsNumber() {
		return small(in, param)
	}

	return charged(in, param, add(add(len(in.String()), len(param.String())), 16))
}

// padCost: ljust, rjust and center pad their input to the width given.
func padCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	return charged(in, param, add(abs(param.Integer()), size(in)))
}

// floatformatCost: as many decimals as asked, after at most 309 digits.
func floatformatCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	return charged(in, param, add(abs(param.Integer()), 400))
}

// dateCost: a layout element expands to at most four times its length.
func dateCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	return charged(in, param, add(mul(4, size(param)), 64))
}

// joinCost: the items and a separator between each two.
func joinCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	if !in.CanSlice() {
		return small(in, param)
	}

	n := reflect.ValueOf(in.Interface()).Len()
	items := 0
	if in.IsString() {
		items = mul(n, 4)
	} else {
		for i := 0; i < n && items < MaxValue; i++ {
			items = add(items, len(in.Index(i).String()))
		}
	}

	return charged(in, param, add(add(items, mul(n, 16)), mul(n, len(param.String()))))
}

// splitCost: a string header per piece; the pieces share the input.
func splitCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	pieces := size(in)/max(len(param.String()), 1) + 1
	return charged(in, param, add(mul(pieces, 16), 16))
}

// removetagsCost: one pass over the input for each tag named.
func removetagsCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	out, work := charged(in, param, size(in))
	return out, add(work, mul(strings.Count(param.String(), ",")+1, size(in)))
}

// stringformatCost: fmt.Sprintf with the parameter as format and the input as its only argument, which
// explicit argument indexes may use for each verb. fmt refuses widths and precisions over 1e6.
func stringformatCost(in *pongo2.Value, param *pongo2.Value) (int, int) {
	format := param.String()
	arg := size(in)
	switch reflect.ValueOf(in.Interface()).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
		arg = len(fmt.Sprint(in.Interface()))
	}

	pad := min(largestNumber(format), 1_000_000)
	if strings.Contains(format, "*") {
		pad = 1_000_000
	}

	verb := add(add(mul(6, arg), pad), 64)
	return charged(in, param, add(mul(16, len(format)), mul(strings.Count(format, "%"), verb)))
}

// largestNumber is the largest run of decimal digits in s, saturated.
func largestNumber(s string) int {
	largest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			n = 0
			continue
		}

		n = add(mul(n, 10), int(s[i]-'0'))
		largest = max(largest, n)
	}

	return largest
}
