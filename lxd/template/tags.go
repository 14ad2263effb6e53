package template

import (
	"fmt"
	"math"

	"github.com/flosch/pongo2/v6"
)

// bannedTags could read files or pull in other templates (include, import, extends, ssi), render their body into
// a buffer of their own, out of reach of the output budget (filter, spaceless, ifchanged), or keep a value of
// any size from one iteration to the next (cycle ... as).
var bannedTags = []string{"include", "import", "extends", "ssi", "filter", "spaceless", "ifchanged", "cycle"}

// The tags that can run many times (for, macro), evaluate an expression without writing (if, ifequal,
// ifnotequal, widthratio ... as) or bind a value to a name (set, with, macro arguments) are pongo2's, rewritten
// to charge a step to the budget each time they run and to refuse binding a value larger than MaxValue: pongo2
// concatenates strings with + without any hook, so a value bound on each iteration of a loop could otherwise
// double each time.
func init() {
	replacements := map[string]pongo2.TagParser{
		"for": forParser, "if": ifParser, "ifequal": ifEqualParser, "ifnotequal": ifNotEqualParser,
		"set": setParser, "with": withParser, "macro": macroParser, "widthratio": widthratioParser,
	}

	for name, parser := range replacements {
		err := pongo2.ReplaceTag(name, parser)
		if err != nil {
			panic(err)
		}
	}
}

// step charges one step to the budget of the render, as an error at the tag's position.
func step(ctx *pongo2.ExecutionContext, position *pongo2.Token, work int) *pongo2.Error {
	err := active.spend(work)
	if err != nil {
		return ctx.OrigError(err, position)
	}

	return nil
}

// forLoop is the forloop variable of pongo2's for tag, with the same fields.
type forLoop struct {
	Counter     int
	Counter0    int
	Revcounter  int
	Revcounter0 int
	First       bool
	Last        bool
	Parentloop  *forLoop
}

type forNode struct {
	position     *pongo2.Token
	key          string
	value        string
	object       pongo2.IEvaluator
	reversed     bool
	sorted       bool
	bodyWrapper  *pongo2.NodeWrapper
	emptyWrapper *pongo2.NodeWrapper
}

// Execute is pongo2's, with a step charged for each iteration.
func (node *forNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) (forError *pongo2.Error) {
	forCtx := pongo2.NewChildExecutionContext(ctx)
	loopInfo := &forLoop{First: true}
	parent, ok := forCtx.Private["forloop"].(*forLoop)
	if ok {
		loopInfo.Parentloop = parent
	}

	forCtx.Private["forloop"] = loopInfo
	obj, err := node.object.Evaluate(forCtx)
	if err != nil {
		return err
	}

	obj.IterateOrder(func(idx, count int, key, value *pongo2.Value) bool {
		forError = step(ctx, node.position, 0)
		if forError != nil {
			return false
		}

		forCtx.Private[node.key] = key
		if value != nil {
			forCtx.Private[node.value] = value
		}

		loopInfo.Counter = idx + 1
		loopInfo.Counter0 = idx
		if idx == 1 {
			loopInfo.First = false
		}

		if idx+1 == count {
			loopInfo.Last = true
		}

		loopInfo.Revcounter = count - idx
		loopInfo.Revcounter0 = count - (idx + 1)
		forError = node.bodyWrapper.Execute(forCtx, writer)
		return forError == nil
	}, func() {
		if node.emptyWrapper != nil {
			forError = node.emptyWrapper.Execute(forCtx, writer)
		}
	}, node.reversed, node.sorted)

	return forError
}

func forParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &forNode{position: start}
	keyToken := arguments.MatchType(pongo2.TokenIdentifier)
	if keyToken == nil {
		return nil, arguments.Error("Expected an key identifier as first argument for 'for'-tag", nil)
	}

	node.key = keyToken.Val
	if arguments.Match(pongo2.TokenSymbol, ",") != nil {
		valueToken := arguments.MatchType(pongo2.TokenIdentifier)
		if valueToken == nil {
			return nil, arguments.Error("Value name must be an identifier.", nil)
		}

		node.value = valueToken.Val
	}

	if arguments.Match(pongo2.TokenKeyword, "in") == nil {
		return nil, arguments.Error("Expected keyword 'in'.", nil)
	}

	object, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	node.object = object
	node.reversed = arguments.MatchOne(pongo2.TokenIdentifier, "reversed") != nil
	node.sorted = arguments.MatchOne(pongo2.TokenIdentifier, "sorted") != nil
	if arguments.Remaining() > 0 {
		return nil, arguments.Error("Malformed for-loop arguments.", nil)
	}

	wrapper, endargs, err := doc.WrapUntilTag("empty", "endfor")
	if err != nil {
		return nil, err
	}

	node.bodyWrapper = wrapper
	if endargs.Count() > 0 {
		return nil, endargs.Error("Arguments not allowed here.", nil)
	}

	if wrapper.Endtag == "empty" {
		wrapper, endargs, err = doc.WrapUntilTag("endfor")
		if err != nil {
			return nil, err
		}

		node.emptyWrapper = wrapper
		if endargs.Count() > 0 {
			return nil, endargs.Error("Arguments not allowed here.", nil)
		}
	}

	return node, nil
}

type ifNode struct {
	position   *pongo2.Token
	conditions []pongo2.IEvaluator
	wrappers   []*pongo2.NodeWrapper
}

// Execute is pongo2's, with a step charged for each condition evaluated.
func (node *ifNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	for i, condition := range node.conditions {
		err := step(ctx, node.position, 0)
		if err != nil {
			return err
		}

		result, err := condition.Evaluate(ctx)
		if err != nil {
			return err
		}

		if result.IsTrue() {
			return node.wrappers[i].Execute(ctx, writer)
		}

		if len(node.conditions) == i+1 && len(node.wrappers) > i+1 {
			return node.wrappers[i+1].Execute(ctx, writer)
		}
	}

	return nil
}

func ifParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &ifNode{position: start}
	condition, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	node.conditions = append(node.conditions, condition)
	if arguments.Remaining() > 0 {
		return nil, arguments.Error("If-condition is malformed.", nil)
	}

	for {
		wrapper, tagArgs, err := doc.WrapUntilTag("elif", "else", "endif")
		if err != nil {
			return nil, err
		}

		node.wrappers = append(node.wrappers, wrapper)
		if wrapper.Endtag == "elif" {
			condition, err = tagArgs.ParseExpression()
			if err != nil {
				return nil, err
			}

			node.conditions = append(node.conditions, condition)
			if tagArgs.Remaining() > 0 {
				return nil, tagArgs.Error("Elif-condition is malformed.", nil)
			}
		} else if tagArgs.Count() > 0 {
			return nil, tagArgs.Error("Arguments not allowed here.", nil)
		}

		if wrapper.Endtag == "endif" {
			return node, nil
		}
	}
}

type equalNode struct {
	position    *pongo2.Token
	negate      bool // ifnotequal
	var1, var2  pongo2.IEvaluator
	thenWrapper *pongo2.NodeWrapper
	elseWrapper *pongo2.NodeWrapper
}

// Execute is pongo2's, for ifequal and ifnotequal, with a step charged.
func (node *equalNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	err := step(ctx, node.position, 0)
	if err != nil {
		return err
	}

	r1, err := node.var1.Evaluate(ctx)
	if err != nil {
		return err
	}

	r2, err := node.var2.Evaluate(ctx)
	if err != nil {
		return err
	}

	if r1.EqualValueTo(r2) != node.negate {
		return node.thenWrapper.Execute(ctx, writer)
	}

	if node.elseWrapper != nil {
		return node.elseWrapper.Execute(ctx, writer)
	}

	return nil
}

func ifEqualParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	return parseEqual(doc, start, arguments, "ifequal", false)
}

func ifNotEqualParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	return parseEqual(doc, start, arguments, "ifnotequal", true)
}

func parseEqual(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser, name string, negate bool) (pongo2.INodeTag, *pongo2.Error) {
	node := &equalNode{position: start, negate: negate}
	var1, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	var2, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	node.var1 = var1
	node.var2 = var2
	if arguments.Remaining() > 0 {
		return nil, arguments.Error(name+" only takes 2 arguments.", nil)
	}

	wrapper, endargs, err := doc.WrapUntilTag("else", "end"+name)
	if err != nil {
		return nil, err
	}

	node.thenWrapper = wrapper
	if endargs.Count() > 0 {
		return nil, endargs.Error("Arguments not allowed here.", nil)
	}

	if wrapper.Endtag == "else" {
		wrapper, endargs, err = doc.WrapUntilTag("end" + name)
		if err != nil {
			return nil, err
		}

		node.elseWrapper = wrapper
		if endargs.Count() > 0 {
			return nil, endargs.Error("Arguments not allowed here.", nil)
		}
	}

	return node, nil
}

type widthratioNode struct {
	position     *pongo2.Token
	current, max pongo2.IEvaluator
	width        pongo2.IEvaluator
	ctxName      string
}

// Execute is pongo2's, with a step charged.
func (node *widthratioNode) Execute(ctx *pongo2.ExecutionContext, writer pongo2.TemplateWriter) *pongo2.Error {
	err := step(ctx, node.position, 0)
	if err != nil {
		return err
	}

	current, err := node.current.Evaluate(ctx)
	if err != nil {
		return err
	}

	maxValue, err := node.max.Evaluate(ctx)
	if err != nil {
		return err
	}

	width, err := node.width.Evaluate(ctx)
	if err != nil {
		return err
	}

	value := int(math.Ceil(current.Float()/maxValue.Float()*width.Float() + 0.5))
	if node.ctxName == "" {
		_, _ = writer.WriteString(fmt.Sprintf("%d", value))
		return nil
	}

	ctx.Private[node.ctxName] = value
	return nil
}

func widthratioParser(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &widthratioNode{position: start}
	current, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	maxValue, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	width, err := arguments.ParseExpression()
	if err != nil {
		return nil, err
	}

	node.current = current
	node.max = maxValue
	node.width = width
	if arguments.MatchOne(pongo2.TokenKeyword, "as") != nil {
		nameToken := arguments.MatchType(pongo2.TokenIdentifier)
		if nameToken == nil {
			return nil, arguments.Error("Expected name (identifier).", nil)
		}

		node.ctxName = nameToken.Val
	}

	if arguments.Remaining() > 0 {
		return nil, arguments.Error("Malformed widthratio-tag arguments.", nil)
	}

	return node, nil
}
