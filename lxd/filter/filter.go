// Package filter implements the API's ?filter= expressions, as the stock client sends them for lists:
// "architecture eq x86_64 and type eq container", with eq, ne, and, or, not, parentheses and quoted values. Fields
// are the JSON names of the listed objects; nested fields use dots ("properties.os", "config.image.os").
package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Expr is a parsed filter.
type Expr interface {
	// Match reports whether the object (decoded from JSON) satisfies the expression.
	Match(obj map[string]any) bool
}

type cmpExpr struct {
	field string
	neg   bool
	value string
}

type boolExpr struct {
	and         bool
	left, right Expr
}

type notExpr struct {
	inner Expr
}

type trueExpr struct{}

func (trueExpr) Match(map[string]any) bool { return true }

func (e notExpr) Match(obj map[string]any) bool { return !e.inner.Match(obj) }

func (e boolExpr) Match(obj map[string]any) bool {
	if e.and {
		return e.left.Match(obj) && e.right.Match(obj)
	}

	return e.left.Match(obj) || e.right.Match(obj)
}

func (e cmpExpr) Match(obj map[string]any) bool {
	v, ok := lookup(obj, e.field)
	eq := ok && valueString(v) == e.value
	if e.neg {
		return !eq
	}

	return eq
}

// lookup finds a dotted field; map keys may themselves contain dots ("config.image.os" → config["image.os"]).
func lookup(obj map[string]any, field string) (any, bool) {
	v, ok := obj[field]
	if ok {
		return v, true
	}

	parts := strings.Split(field, ".")
	for i := 1; i < len(parts); i++ {
		head := strings.Join(parts[:i], ".")
		sub, ok := obj[head].(map[string]any)
		if !ok {
			continue
		}

		v, ok := lookup(sub, strings.Join(parts[i:], "."))
		if ok {
			return v, true
		}
	}

	return nil, false
}

func valueString(v any) string {
	switch val := v.(type) {
	case string:
		return val
	case bool:
		return strconv.FormatBool(val)
	case float64:
		return strconv.FormatFloat(val, 'f', -1, 64)
	case nil:
		return ""
	}

	data, _ := json.Marshal(v)
	return string(data)
}

// Parse parses a filter expression; the empty string matches everything.
func Parse(s string) (Expr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}

	if len(toks) == 0 {
		return trueExpr{}, nil
	}

	p := &parser{toks: toks}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}

	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("invalid filter: unexpected %q: %w", p.toks[p.pos].text, errs.ErrInvalid)
	}

	return e, nil
}

// Objects keeps the objects matching the expression, comparing against their JSON form.
func Objects[T any](items []T, e Expr) ([]T, error) {
	if _, ok := e.(trueExpr); ok {
		return items, nil
	}

	out := make([]T, 0, len(items))
	for _, item := range items {
		data, err := json.Marshal(item)
		if err != nil {
			return nil, err
		}

		var obj map[string]any
		err = json.Unmarshal(data, &obj)
		if err != nil {
			return nil, err
		}

		if e.Match(obj) {
			out = append(out, item)
		}
	}

	return out, nil
}

type token struct {
	text   string
	quoted bool
}

func tokenize(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("invalid filter: unterminated quote: %w", errs.ErrInvalid)
			}

			toks = append(toks, token{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' {
				j++
			}

			toks = append(toks, token{text: s[i:j]})
			i = j
		}
	}

	return toks, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peekKeyword(kw string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, kw)
}

func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}

	for p.peekKeyword("or") {
		p.pos++
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}

		left = boolExpr{and: false, left: left, right: right}
	}

	return left, nil
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}

	for p.peekKeyword("and") {
		p.pos++
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}

		left = boolExpr{and: true, left: left, right: right}
	}

	return left, nil
}

func (p *parser) parseUnary() (Expr, error) {
	if p.peekKeyword("not") {
		p.pos++
		inner, err := p.parseUnary()
		if err != nil {
			return nil, err
		}

		return notExpr{inner: inner}, nil
	}

	if p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].text == "(" {
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}

		if p.pos >= len(p.toks) || p.toks[p.pos].text != ")" {
			return nil, fmt.Errorf("invalid filter: missing ')': %w", errs.ErrInvalid)
		}

		p.pos++
		return e, nil
	}

	if p.pos+3 > len(p.toks) {
		return nil, fmt.Errorf("invalid filter: expected \"<field> eq|ne <value>\": %w", errs.ErrInvalid)
	}

	field, op, value := p.toks[p.pos], p.toks[p.pos+1], p.toks[p.pos+2]
	p.pos += 3
	switch strings.ToLower(op.text) {
	case "eq":
		return cmpExpr{field: field.text, value: value.text}, nil
	case "ne":
		return cmpExpr{field: field.text, value: value.text, neg: true}, nil
	}

	return nil, fmt.Errorf("invalid filter: unknown operator %q (use eq or ne): %w", op.text, errs.ErrInvalid)
}
