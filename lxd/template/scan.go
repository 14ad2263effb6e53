package template

import (
	"bytes"
	"fmt"
)

// blockTags are the tags with an end tag, whose bodies pongo2 parses recursively.
var blockTags = map[string]bool{
	"autoescape": true, "block": true, "comment": true, "filter": true, "for": true, "if": true, "ifchanged": true,
	"ifequal": true, "ifnotequal": true, "macro": true, "spaceless": true, "with": true,
}

// checkShape bounds, before parsing, what pongo2 does without any hook: it parses nested brackets and blocks
// recursively (deep enough, the stack overflows and the daemon ends), takes a few hundred bytes a token,
// concatenates strings with + (a chain of + grows a string with each term), and evaluates each expression in one
// go (its length bounds that work). It reads the code as pongo2's lexer does: {{ }} and {% %} outside of
// {# #} comments and verbatim blocks, and skips string literals.
func checkShape(src []byte) error {
	var c counts
	text := false // in a run of text, one token
	for i := 0; i < len(src); {
		rest := src[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("{% verbatim %}")):
			end := bytes.Index(rest, []byte("{% endverbatim"))
			if end < 0 {
				return nil // pongo2 refuses it
			}

			i += end + len("{% endverbatim")
		case bytes.HasPrefix(rest, []byte("{#")):
			end := bytes.Index(rest, []byte("#}"))
			if end < 0 {
				return nil
			}

			i += end + 2
		case bytes.HasPrefix(rest, []byte("{{")) || bytes.HasPrefix(rest, []byte("{%")):
			text = false
			n, err := c.code(rest[2:], rest[1] == '%')
			if err == nil {
				err = checkCodeLength(n)
			}

			if err == nil && c.tokens > MaxTokens {
				err = fmt.Errorf("more than %d tokens: %w", MaxTokens, ErrLimit)
			}

			if err != nil {
				return fmt.Errorf("line %d: %w", bytes.Count(src[:i], []byte("\n"))+1, err)
			}

			i += 2 + n
		default:
			if !text {
				text = true
				c.tokens++
			}

			i++
		}
	}

	if c.tokens > MaxTokens {
		return fmt.Errorf("more than %d tokens: %w", MaxTokens, ErrLimit)
	}

	return nil
}

// counts are what checkShape counted so far.
type counts struct {
	tokens int
	plus   int
	blocks int
}

// isWord tells the bytes of names and numbers.
func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// code goes over the code of one {{ }} or {% %} (code, after its opening) and returns its length.
func (c *counts) code(code []byte, tag bool) (int, error) {
	depth := 0
	i := 0
	c.tokens += 2 // the delimiters
	if tag {
		for i < len(code) && (code[i] == ' ' || code[i] == '\t' || code[i] == '-') {
			i++
		}

		start := i
		for i < len(code) && isWord(code[i]) {
			i++
		}

		name := string(code[start:i])
		if name != "" {
			c.tokens++
		}

		switch {
		case blockTags[name]:
			c.blocks++
			if c.blocks > MaxNesting {
				return 0, fmt.Errorf("blocks nested deeper than %d: %w", MaxNesting, ErrLimit)
			}

		case len(name) > 3 && name[:3] == "end" && blockTags[name[3:]] && c.blocks > 0:
			c.blocks--
		}
	}

	for ; i < len(code); i++ {
		b := code[i]
		switch {
		case isWord(b):
			if i == 0 || !isWord(code[i-1]) {
				c.tokens++
			}

			continue
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
			continue
		}

		c.tokens++
		switch b {
		case '}', '%':
			if i+1 < len(code) && code[i+1] == '}' {
				return i + 2, nil
			}

		case '"', '\'':
			for i++; i < len(code) && code[i] != b && code[i] != '\n'; i++ {
				if code[i] == '\\' {
					i++
				}
			}

		case '(', '[':
			depth++
			if depth > MaxNesting {
				return 0, fmt.Errorf("brackets nested deeper than %d: %w", MaxNesting, ErrLimit)
			}

		case ')', ']':
			depth--
		case '+':
			c.plus++
			if c.plus > MaxConcat {
				return 0, fmt.Errorf("more than %d + operators: %w", MaxConcat, ErrLimit)
			}
		}
	}

	return i, nil
}

// checkCodeLength refuses the code of a {{ }} or {% %} longer than MaxCode.
func checkCodeLength(n int) error {
	if n > MaxCode {
		return fmt.Errorf("code of a tag or variable longer than %d bytes: %w", MaxCode, ErrLimit)
	}

	return nil
}
