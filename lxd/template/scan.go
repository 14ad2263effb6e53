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
// recursively (deep enough, the stack overflows and the daemon ends), concatenates strings with + (a chain of +
// grows a string with each term), and evaluates each expression in one go (its length bounds that work). It reads the code as pongo2's lexer does: {{ }} and {% %} outside of
// {# #} comments and verbatim blocks, and skips string literals.
func checkShape(src []byte) error {
	plus, blocks := 0, 0
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
			n, err := checkCode(rest[2:], rest[1] == '%', &plus, &blocks)
			if err == nil {
				err = checkCodeLength(n)
			}

			if err != nil {
				return fmt.Errorf("line %d: %w", bytes.Count(src[:i], []byte("\n"))+1, err)
			}

			i += 2 + n
		default:
			i++
		}
	}

	return nil
}

// checkCode goes over the code of one {{ }} or {% %} (code, after its opening) and returns its length.
func checkCode(code []byte, tag bool, plus *int, blocks *int) (int, error) {
	depth := 0
	i := 0
	if tag {
		for i < len(code) && (code[i] == ' ' || code[i] == '\t' || code[i] == '-') {
			i++
		}

		start := i
		for i < len(code) && (code[i] == '_' || code[i] >= 'a' && code[i] <= 'z' || code[i] >= 'A' && code[i] <= 'Z' || code[i] >= '0' && code[i] <= '9') {
			i++
		}

		name := string(code[start:i])
		switch {
		case blockTags[name]:
			*blocks++
			if *blocks > MaxNesting {
				return 0, fmt.Errorf("blocks nested deeper than %d: %w", MaxNesting, ErrLimit)
			}

		case len(name) > 3 && name[:3] == "end" && blockTags[name[3:]] && *blocks > 0:
			*blocks--
		}
	}

	for ; i < len(code); i++ {
		switch c := code[i]; c {
		case '}', '%':
			if i+1 < len(code) && code[i+1] == '}' {
				return i + 2, nil
			}

		case '"', '\'':
			for i++; i < len(code) && code[i] != c && code[i] != '\n'; i++ {
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
			*plus++
			if *plus > MaxConcat {
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
