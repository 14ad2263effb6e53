package instance

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

// TestListFullMatchesOneByOne lists instances, some running and one with snapshots, at once and one by one: the
// same instances, states and snapshots, in name order.
func TestListFullMatchesOneByOne(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	names := []string{}
	for i := range 12 {
		name := fmt.Sprintf("c%02d", 11-i)
		err := createFromTestImage(t, m, name, "x\n")
		if err != nil {
			t.Fatal(err)
		}

		if i%3 == 0 {
			err = m.Start(ctx, name)
			if err != nil {
				t.Fatal(err)
			}

			t.Cleanup(func() { _ = m.Stop(ctx, name, time.Second, false) })
		}

		names = append([]string{name}, names...)
	}

	for _, snap := range []string{"s1", "s2"} {
		err := m.CreateSnapshot(ctx, "c04", snap, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
	}

	full, err := m.ListFull(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if len(full) != len(names) {
		t.Fatalf("got %d instances, want %d", len(full), len(names))
	}

	running := 0
	for i, f := range full {
		if f.Instance.Name != names[i] {
			t.Fatalf("got %q at %d, want %q (name order)", f.Instance.Name, i, names[i])
		}

		inst, err := m.Get(ctx, names[i])
		if err != nil {
			t.Fatal(err)
		}

		if !reflect.DeepEqual(f.Instance, *inst) {
			t.Fatalf("got %+v, want %+v", f.Instance, *inst)
		}

		st, err := m.State(ctx, names[i])
		if err != nil {
			t.Fatal(err)
		}

		if !reflect.DeepEqual(f.State, st) || f.State.StatusCode != inst.StatusCode {
			t.Fatalf("got state %+v of %s, want %+v (status %s)", f.State, names[i], st, inst.Status)
		}

		snaps, err := m.Snapshots(ctx, names[i])
		if err != nil {
			t.Fatal(err)
		}

		if len(snaps) != len(f.Snapshots) || (len(snaps) > 0 && !reflect.DeepEqual(snaps, f.Snapshots)) {
			t.Fatalf("got snapshots %+v of %s, want %+v", f.Snapshots, names[i], snaps)
		}

		if inst.Status == "Running" {
			running++
		}
	}

	if running != 4 || len(full[4].Snapshots) != 2 {
		t.Fatalf("got %d running and %d snapshots of c04, want 4 and 2", running, len(full[4].Snapshots))
	}
}

// TestForEach calls every index once, from more goroutines than one when there are many.
func TestForEach(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100} {
		seen := make([]atomic.Int32, n)
		forEach(n, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d: index %d called %d times", n, i, seen[i].Load())
			}
		}
	}
}
