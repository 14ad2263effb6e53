package template

import (
	"bytes"
	"fmt"

	"github.com/flosch/pongo2/v6"
)

// The tags that bind a value to a name (set, with, and macro for its arguments), rewritten from pongo2's: see
// tags.go.

// bindable refuses a value larger than MaxValue.
func bindable(value *pongo2.Value) error {
	if size(value) > MaxValue {
		return active.fail(fmt.Sprintf("a value larger than %d bytes", MaxValue))
	}

	return nil
}

// bind is bindable as an error at the tag's position.
func bind(ctx *pongo2.ExecutionContext, position *pongo2.Token, value *pongo2.Value) *pongo2.Error {
	err := bindable(value)
	if err != nil {
		return ctx.OrigError(err, position)
	}

	return nil
}

type setNode struct {
	position   *pongo2.Token
	name       string
	expression pongo2.IEvaluator
}

// Execute is pongo2's, with a step charged.
func (node *setNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	err := step(ctx, node.position, 0)
	if err != nil {
		return err
	}

	value, err := node.expression.Evaluate(ctx)
	if err != nil {
		return err
	}

	err = bind(ctx, node.position, value)
	if err != nil {
		return err
	}

	ctx.Private[node.name] = value
	return nil
}

func setParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &setNode{position: start}
	nameToken := arguments.MatchType(pongo2.TokenIdentifier)
	if nameToken == nil {
		return nil, arguments.Error("Expected an identifier.", nil)
	}

	node.name = nameToken.Val
	if arguments.Match(pongo2.TokenSymbol, "=") == nil {
		return nil, arguments.Error("Expected '='.", nil)
	}

	expression, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	node.expression = expression
	if arguments.Remaining() > 0 {
		return nil, arguments.Error("Malformed 'set'-tag arguments.", nil)
	}

	return node, nil
}

type withNode struct {
	position  *pongo2.Token
	withPairs map[string]pongo2.IEvaluator
	wrapper   *pongo2.NodeWrapper
}

// Execute is pongo2's, with a step charged and the values bound checked.
func (node *withNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	err := step(ctx, node.position, 0)
	if err != nil {
		return err
	}

	withCtx := pongo2.NewChildExecutionContext(ctx)
	for key, expr := range node.withPairs {
		value, err := expr.Evaluate(ctx)
		if err != nil {
			return err
		}

		err = bind(ctx, node.position, value)
		if err != nil {
			return err
		}

		withCtx.Private[key] = value
	}

	return node.wrapper.Execute(withCtx, writer)
}

func withParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &withNode{position: start, withPairs: make(map[string]pongo2.IEvaluator)}
	if arguments.Count() == 0 {
		return nil, arguments.Error("Tag 'with' requires at least one argument.", nil)
	}

	wrapper, endargs, err := doc.WrapUntilTag("endwith")
	if err != nil {
		return nil, err
	}

	node.wrapper = wrapper
	if endargs.Count() > 0 {
		return nil, endargs.Error("Arguments not allowed here.", nil)
	}

	// "{% with expr as name %}" (old style) when any "as" is there, else "{% with name=expr %}".
	oldStyle := false
	for i := 0; i < arguments.Count(); i++ {
		if arguments.PeekN(i, pongo2.TokenKeyword, "as") != nil {
			oldStyle = true
			break
		}
	}

	for arguments.Remaining() > 0 {
		if oldStyle {
			valueExpr, err := arguments.ParseExpression()
			if err != nil {
				return nil, err
			}

			if arguments.Match(pongo2.TokenKeyword, "as") == nil {
				return nil, arguments.Error("Expected 'as' keyword.", nil)
			}

			keyToken := arguments.MatchType(pongo2.TokenIdentifier)
			if keyToken == nil {
				return nil, arguments.Error("Expected an identifier", nil)
			}

			node.withPairs[keyToken.Val] = valueExpr
			continue
		}

		keyToken := arguments.MatchType(pongo2.TokenIdentifier)
		if keyToken == nil {
			return nil, arguments.Error("Expected an identifier", nil)
		}

		if arguments.Match(pongo2.TokenSymbol, "=") == nil {
			return nil, arguments.Error("Expected '='.", nil)
		}

		valueExpr, err := arguments.ParseExpression()
		if err != nil {
			return nil, err
		}

		node.withPairs[keyToken.Val] = valueExpr
	}

	return node, nil
}

type macroNode struct {
	position  *pongo2.Token
	name      string
	argsOrder []string
	args      map[string]pongo2.IEvaluator
	wrapper   *pongo2.NodeWrapper
}

// Execute defines the macro in the context, as pongo2's does.
func (node *macroNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	ctx.Private[node.name] = func(args ...*pongo2.Value) (*pongo2.Value, error) {
		return node.call(ctx, args...)
	}

	return nil
}

// call is pongo2's, with a step charged, the nesting of calls bounded (a recursive macro would otherwise
// overflow the stack and end the daemon), and the body rendered into a buffer of at most MaxValue bytes whose
// content is charged as work.
func (node *macroNode) call(ctx *pongo2.ExecutionContext, args ...*pongo2.Value) (*pongo2.Value, error) {
	// An overrun unwinds with a panic, as in the writer: pongo2 would wrap a returned error once per nested call.
	b := active
	err := b.spend(0)
	if err != nil {
		panic(err)
	}

	if b != nil {
		if b.depth >= MaxNesting {
			panic(b.fail(fmt.Sprintf("macro calls nested deeper than %d", MaxNesting)))
		}

		b.depth++
		defer func() { b.depth-- }()
	}

	argsCtx := make(pongo2.Context)
	for k, v := range node.args {
		if v == nil {
			argsCtx[k] = nil
			continue
		}

		value, perr := v.Evaluate(ctx)
		if perr != nil {
			return pongo2.AsSafeValue(""), perr
		}

		err = bindable(value)
		if err != nil {
			panic(err)
		}

		argsCtx[k] = value
	}

	if len(args) > len(node.argsOrder) {
		return pongo2.AsSafeValue(""), ctx.Error(fmt.Sprintf("Macro '%s' called with too many arguments (%d instead of %d).",
			node.name, len(args), len(node.argsOrder)), node.position)
	}

	macroCtx := pongo2.NewChildExecutionContext(ctx)
	macroCtx.Private.Update(argsCtx)
	for idx, arg := range args {
		err = bindable(arg)
		if err != nil {
			panic(err)
		}

		macroCtx.Private[node.argsOrder[idx]] = arg.Interface()
	}

	var buf bytes.Buffer
	var writer pongo2.TemplateWriter = &buf
	if b != nil {
		left := MaxValue
		writer = &budgetWriter{w: &buf, b: b, left: &left, limit: MaxValue}
	}

	perr := node.wrapper.Execute(macroCtx, writer)
	if perr != nil {
		return pongo2.AsSafeValue(""), perr
	}

	err = b.spend(buf.Len())
	if err != nil {
		panic(err)
	}

	return pongo2.AsSafeValue(buf.String()), nil
}

func macroParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &macroNode{position: start, args: make(map[string]pongo2.IEvaluator)}
	nameToken := arguments.MatchType(pongo2.TokenIdentifier)
	if nameToken == nil {
		return nil, arguments.Error("Macro-tag needs at least an identifier as name.", nil)
	}

	node.name = nameToken.Val
	if arguments.MatchOne(pongo2.TokenSymbol, "(") == nil {
		return nil, arguments.Error("Expected '('.", nil)
	}

	for arguments.Match(pongo2.TokenSymbol, ")") == nil {
		argNameToken := arguments.MatchType(pongo2.TokenIdentifier)
		if argNameToken == nil {
			return nil, arguments.Error("Expected argument name as identifier.", nil)
		}

		node.argsOrder = append(node.argsOrder, argNameToken.Val)
		node.args[argNameToken.Val] = nil
		if arguments.Match(pongo2.TokenSymbol, "=") != nil {
			def, err := arguments.ParseExpression()
			if err != nil {
				return nil, err
			}

			node.args[argNameToken.Val] = def
		}

		if arguments.Match(pongo2.TokenSymbol, ")") != nil {
			break
		}

		if arguments.Match(pongo2.TokenSymbol, ",") == nil {
			return nil, arguments.Error("Expected ',' or ')'.", nil)
		}
	}

	// export only matters to import, which is banned.
	arguments.Match(pongo2.TokenKeyword, "export")
	if arguments.Remaining() > 0 {
		return nil, arguments.Error("Malformed macro-tag.", nil)
	}

	wrapper, endargs, err := doc.WrapUntilTag("endmacro")
	if err != nil {
		return nil, err
	}

	node.wrapper = wrapper
	if endargs.Count() > 0 {
		return nil, endargs.Error("Arguments not allowed here.", nil)
	}

	return node, nil
}
