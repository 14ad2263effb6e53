// Package template renders image templates (pongo2) at instance lifecycle events, sandboxed: no tag can read
// another file, and a broken or hostile template is an error naming the template, never a panic nor a daemon
// that runs out of memory or time.
//
// Images come from remote servers, so their templates are untrusted. Every render has a budget (the Max
// constants): a deadline, an output size, a number of steps and an amount of work. pongo2 has no context, so the
// budget is checked from the inside, and renders take turns so that filters find it: every filter is wrapped to
// charge it and to refuse, before allocating, a result larger than MaxValue; the tags that repeat, evaluate
// without writing or bind a value (for, macro, if, ifequal, ifnotequal, widthratio, set, with) are replaced by
// versions that charge a step each time they run; the output writer charges the bytes written. Tags that render
// into buffers of their own or carry values across iterations are refused. The shape of the source is checked
// before parsing, for what pongo2 does without any hook: nested brackets and blocks, the length of the code of
// one tag or variable, and the + operator.
package template
