// Package template renders image templates (pongo2) at instance lifecycle events, sandboxed: no tag can read
// another file, and a broken or hostile template is an error naming the template, never a panic nor a daemon
// that runs out of memory or time.
//
// Images come from remote servers, so their templates are untrusted. Every render has a budget (see Limits):
// a deadline, an output size, a number of steps and an amount of work. pongo2 has no context, so the budget is
// checked from the inside: every filter is wrapped to charge it and to refuse, before allocating, a result
// larger than MaxValue; the for, if, set and macro tags are replaced by versions that charge a step each time
// they run; the output writer charges the bytes written. The shape of the source is checked before parsing,
// for what pongo2 evaluates without any hook: the nesting of brackets and blocks, and the + operator.
package template
