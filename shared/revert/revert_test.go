package revert

import (
	"reflect"
	"testing"
)

func TestFailRunsNewestFirst(t *testing.T) {
	var got []int
	r := New()
	r.Add(func() { got = append(got, 1) })
	r.Add(func() { got = append(got, 2) })
	r.Fail()
	r.Fail()

	want := []int{2, 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSuccessDisarms(t *testing.T) {
	ran := false
	func() {
		r := New()
		defer r.Fail()
		r.Add(func() { ran = true })
		r.Success()
	}()

	if ran {
		t.Fatal("undo ran after Success")
	}
}

func TestCloneKeepsUndo(t *testing.T) {
	ran := 0
	r := New()
	r.Add(func() { ran++ })
	c := r.Clone()
	r.Success()
	r.Fail()
	c.Fail()
	if ran != 1 {
		t.Fatalf("got %d runs, want 1", ran)
	}
}
