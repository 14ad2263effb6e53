package template

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// The budget of one template. A template that goes over one of them fails with an error wrapping ErrLimit.
const (
	// MaxSource is the largest template source accepted, as the largest template file the API accepts.
	MaxSource = 1 << 20

	// MaxOutput is the largest output a template may produce.
	MaxOutput = 1 << 20

	// MaxValue is the largest value (string, or list in memory) a filter or macro may produce.
	MaxValue = MaxOutput

	// MaxDuration is how long a template may render.
	MaxDuration = 2 * time.Second

	// MaxSteps is how many loop iterations, macro calls, filter applications and runs of the tags that evaluate
	// without writing (if, ifequal, ifnotequal, set, with, widthratio) a template may make.
	MaxSteps = 100_000

	// MaxWork is how many bytes the filters and macros of a template may read and produce in all.
	MaxWork = 64 << 20

	// MaxNesting is how deep brackets, blocks ({% if %}, {% for %}...) and macro calls may nest.
	MaxNesting = 64

	// MaxCode is the longest code of one {{ }} or {% %}: pongo2 evaluates an expression in one go, so its length
	// bounds the work between two checks of the budget.
	MaxCode = 16 << 10

	// MaxTokens is how many tokens (names, numbers, strings, operators, delimiters, runs of text) a template may
	// hold: parsing takes a few hundred bytes of memory per token.
	MaxTokens = 50_000

	// MaxConcat is how many + operators a template may hold: pongo2 concatenates strings with + without any hook,
	// so a + chain is bounded by its length (MaxConcat+1 values of at most MaxValue bytes).
	MaxConcat = 16
)

// ErrLimit is wrapped by the error of a template that went over its budget (or whose source is shaped beyond it).
var ErrLimit = errors.New("template budget exceeded")

// limitError is a budget overrun, its text says which bound.
type limitError string

func (e limitError) Error() string { return string(e) }

// budget is what is left to one render.
type budget struct {
	deadline time.Time
	output   int
	steps    int
	work     int
	depth    int   // of macro calls
	err      error // the first overrun
}

func newBudget() *budget {
	return &budget{deadline: time.Now().Add(MaxDuration), output: MaxOutput, steps: MaxSteps, work: MaxWork}
}

// pongo2 gives filters no context, so the budget of the render in progress is found here. Renders take turns:
// each is bounded by MaxDuration and hostile ones stop at their first overrun, usually within milliseconds.
var (
	renderMu sync.Mutex
	active   *budget // the budget of the render holding renderMu, nil outside of Render
)

// spend charges one step and n bytes of work; it fails once the render is over a bound, and then at every call
// with the same error. A nil budget (a filter used outside Render) charges nothing.
func (b *budget) spend(n int) error {
	if b == nil {
		return nil
	}

	if b.err != nil {
		return b.err
	}

	b.steps--
	b.work -= n
	switch {
	case b.steps < 0:
		return b.fail(fmt.Sprintf("more than %d steps (loop iterations, tags, macro calls, filters)", MaxSteps))
	case b.work < 0:
		return b.fail(fmt.Sprintf("more than %d bytes of work for filters and macros", MaxWork))
	case time.Now().After(b.deadline):
		return b.fail(fmt.Sprintf("rendering took longer than %s", MaxDuration))
	}

	return nil
}

// fail records the first overrun and returns it as an error. A nil budget returns the error only.
func (b *budget) fail(msg string) error {
	err := limitError(msg)
	if b != nil && b.err == nil {
		b.err = err
	}

	return err
}

// budgetWriter writes what a template renders and charges it to the budget. pongo2 ignores write errors, so an
// overrun unwinds the rendering with a panic of a limitError, which Render recovers.
type budgetWriter struct {
	w     io.Writer
	b     *budget
	left  *int // bytes this writer may still take
	limit int
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	w.charge(len(p))
	return w.w.Write(p)
}

func (w *budgetWriter) WriteString(s string) (int, error) {
	w.charge(len(s))
	return io.WriteString(w.w, s)
}

func (w *budgetWriter) charge(n int) {
	if w.b.err != nil {
		panic(w.b.err)
	}

	if n > *w.left {
		*w.left = -1
		panic(w.b.fail(fmt.Sprintf("output larger than %d bytes", w.limit)))
	}

	*w.left -= n
	if time.Now().After(w.b.deadline) {
		panic(w.b.fail(fmt.Sprintf("rendering took longer than %s", MaxDuration)))
	}
}
