// Package template renders image templates (pongo2) at instance lifecycle events, sandboxed: no tag can read
// another file, output is bounded, and a broken template is an error naming the template and line, never a panic.
package template

import (
	"errors"
	"fmt"
	"io"

	"github.com/flosch/pongo2/v6"
)

// MaxOutput is the largest output a template may produce.
const MaxOutput = 16 << 20

// MaxSource is the largest template source accepted.
const MaxSource = 1 << 20

// bannedTags could read files or pull in other templates.
var bannedTags = []string{"include", "import", "extends", "ssi"}

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

// Instance describes the instance a template is rendered for.
type Instance struct {
	Name         string
	Architecture string
	Privileged   bool
	Ephemeral    bool
}

// Context is everything a template can see, as LXD provides it.
type Context struct {
	// Trigger is create, copy, start or rename.
	Trigger string

	// Path is the target path inside the instance.
	Path string

	Instance Instance

	// Config is the instance's expanded configuration.
	Config map[string]string

	// Devices are the instance's expanded devices.
	Devices map[string]map[string]string

	// Properties are the template's own properties from metadata.yaml.
	Properties map[string]string
}

func (c Context) pongo() pongo2.Context {
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

// limitWriter stops rendering once more than n bytes were written. pongo2 ignores write errors, so it unwinds
// the rendering with a panic that Render recovers.
type limitWriter struct {
	w io.Writer
	n int64
}

type tooLarge struct{}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		panic(tooLarge{})
	}

	l.n -= int64(len(p))
	return l.w.Write(p)
}

// Render renders the template source named name with ctx into w.
func Render(w io.Writer, name string, source []byte, ctx Context) (err error) {
	if len(source) > MaxSource {
		return fmt.Errorf("template %q: larger than %d bytes", name, MaxSource)
	}

	// pongo2 may panic on pathological input; a template must never take the daemon down.
	defer func() {
		r := recover()
		if r == nil {
			return
		}

		_, ok := r.(tooLarge)
		if ok {
			err = fmt.Errorf("template %q: output larger than %d bytes", name, MaxOutput)
			return
		}

		err = fmt.Errorf("template %q: %v", name, r)
	}()

	tpl, err := newSet().FromBytes(source)
	if err != nil {
		return fmt.Errorf("template %q: %s", name, describe(err))
	}

	err = tpl.ExecuteWriterUnbuffered(ctx.pongo(), &limitWriter{w: w, n: MaxOutput})
	if err != nil {
		return fmt.Errorf("template %q: %s", name, describe(err))
	}

	return nil
}

// describe turns a pongo2 error into "line N: message".
func describe(err error) string {
	var perr *pongo2.Error
	if errors.As(err, &perr) {
		if perr.Line > 0 {
			return fmt.Sprintf("line %d: %s", perr.Line, perr.OrigError)
		}

		return perr.OrigError.Error()
	}

	return err.Error()
}
