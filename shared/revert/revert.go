// Package revert undoes the finished steps of a multi-step change when a later step fails.
//
//	r := revert.New()
//	defer r.Fail()
//	// step 1 ...
//	r.Add(func() { /* undo step 1 */ })
//	// step 2 ...
//	r.Success()
package revert

// Reverter collects undo functions and runs them, newest first, unless the change succeeded.
type Reverter struct {
	undo []func()
}

// New returns an empty Reverter.
func New() *Reverter {
	return &Reverter{}
}

// Add records the undo of a step that just succeeded.
func (r *Reverter) Add(f func()) {
	r.undo = append(r.undo, f)
}

// Fail runs the recorded undo functions, newest first, and forgets them; after Success it does nothing.
func (r *Reverter) Fail() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}

	r.undo = nil
}

// Success marks the change as done: a later Fail runs nothing.
func (r *Reverter) Success() {
	r.undo = nil
}

// Clone returns a Reverter holding the undo functions recorded so far, so that a caller can keep them past
// Success (to undo a finished change later, when a step after it fails).
func (r *Reverter) Clone() *Reverter {
	return &Reverter{undo: append([]func(){}, r.undo...)}
}
