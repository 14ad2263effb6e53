package template

import (
	"errors"
	"fmt"
	"io"

	"github.com/flosch/pongo2/v6"

	"github.com/lxd-go/lxd/lxd/template/tplctx"
)

// noFiles is a loader that refuses every path, so no tag can ever read a file.
type noFiles struct{}

func (noFiles) Abs(base, name string) string { return name }

func (noFiles) Get(path string) (io.Reader, error) {
	return nil, fmt.Errorf("templates cannot load other files (%q)", path)
}

func init() {
	// Templates write configuration files, not HTML.
	pongo2.SetAutoescape(false)
}

func newSet() *pongo2.TemplateSet {
	set := pongo2.NewSet("image-templates", noFiles{})
	for _, tag := range bannedTags {
		_ = set.BanTag(tag)
	}

	return set
}

// pongoContext is ctx as templates see it.
func pongoContext(c tplctx.Context) pongo2.Context {
	container := map[string]any{
		"name":         c.Instance.Name,
		"architecture": c.Instance.Architecture,
		"privileged":   c.Instance.Privileged,
		"ephemeral":    c.Instance.Ephemeral,
	}

	config := c.Config
	if config == nil {
		config = map[string]string{}
	}

	devices := c.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
	}

	properties := c.Properties
	if properties == nil {
		properties = map[string]string{}
	}

	return pongo2.Context{
		"trigger":    c.Trigger,
		"path":       c.Path,
		"container":  container,
		"instance":   container,
		"config":     config,
		"devices":    devices,
		"properties": properties,
		"config_get": func(key string, def any) any {
			v, ok := config[key]
			if ok {
				return v
			}

			return def
		},
	}
}

// Render renders the template source named name with ctx into w, within the budget of a template (see Limits).
// Its errors name the template; one that went over the budget wraps ErrLimit.
func Render(w io.Writer, name string, source []byte, ctx tplctx.Context) error {
	err := render(w, source, ctx)
	if err != nil {
		return fmt.Errorf("template %q: %w", name, err)
	}

	return nil
}

func render(w io.Writer, source []byte, ctx tplctx.Context) (err error) {
	if len(source) > MaxSource {
		return fmt.Errorf("larger than %d bytes: %w", MaxSource, ErrLimit)
	}

	err = checkShape(source)
	if err != nil {
		return err
	}

	// pongo2 may panic on pathological input, and an overrun seen by a writer unwinds with a panic: a template
	// must never take the daemon down.
	defer func() {
		r := recover()
		if r == nil {
			return
		}

		lerr, ok := r.(limitError)
		if ok {
			err = fmt.Errorf("%s: %w", lerr, ErrLimit)
			return
		}

		err = fmt.Errorf("%v", r)
	}()

	tpl, err := newSet().FromBytes(source)
	if err != nil {
		return describe(err, false)
	}

	renderMu.Lock()
	b := newBudget()
	active = b
	defer func() {
		active = nil
		renderMu.Unlock()
	}()

	err = tpl.ExecuteWriterUnbuffered(pongoContext(ctx), &budgetWriter{w: w, b: b, left: &b.output, limit: MaxOutput})
	if err != nil {
		return describe(err, b.err != nil)
	}

	return nil
}

// describe turns a pongo2 error into "line N: message", wrapping ErrLimit after an overrun.
func describe(err error, over bool) error {
	msg := err.Error()
	var perr *pongo2.Error
	if errors.As(err, &perr) {
		msg = perr.OrigError.Error()
		if perr.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", perr.Line, msg)
		}
	}

	if over {
		return fmt.Errorf("%s: %w", msg, ErrLimit)
	}

	return errors.New(msg)
}
