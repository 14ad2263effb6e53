package image

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// TestProjectsShareFiles checks that two projects record the same image apart, each with its aliases, on one copy
// of its files; that adopt records another project's image without its files; and that the files go with the last
// record only.
func TestProjectsShareFiles(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, nil)
	img := e.mustAdd(t, "alpine", StoreArgs{Aliases: []api.ImageAlias{{Name: "a"}}})
	fp := img.Fingerprint
	p1 := e.m.In("p1")
	if p1.Project() != "p1" || e.m.Project() != "default" || e.m.In("default").project != "" {
		t.Fatalf("projects of the views: %q %q", p1.Project(), e.m.Project())
	}

	// Stored again in p1: the files are there already; a second time in p1 is a conflict.
	for i, want := range []error{nil, errs.ErrConflict} {
		pending, err := e.store.ImportUnified(ctx, bytes.NewReader(testImage(t, "alpine")), images.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}

		_, err = p1.Store(ctx, pending, StoreArgs{Aliases: []api.ImageAlias{{Name: "a"}}})
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("store %d in p1: got %v, want %v", i, err, want)
		}
	}

	p2 := e.m.In("p2")
	adopted, err := p2.adopt(ctx, fp, StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "b"}}})
	if err != nil || adopted == nil || !adopted.Public || adopted.Project != "p2" || adopted.Size != img.Size {
		t.Fatalf("adopt in p2: %+v, %v", adopted, err)
	}

	none, err := e.m.In("p3").adopt(ctx, "0123456789012345678901234567890123456789012345678901234567890123", StoreArgs{})
	if err != nil || none != nil {
		t.Fatalf("adopt of an image no project holds: %+v, %v", none, err)
	}

	for _, m := range []*Manager{e.m, p1, p2} {
		list, err := m.List(ctx, false)
		if err != nil || len(list) != 1 || list[0].Fingerprint != fp {
			t.Fatalf("images of %s: %+v, %v", m.Project(), list, err)
		}
	}

	_, _, err = p2.Alias(ctx, "a")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("alias of default and p1 seen from p2: %v", err)
	}

	files := e.files(t)
	for i, m := range []*Manager{e.m, p2, p1} {
		err = m.Delete(ctx, fp, nil)
		if err != nil {
			t.Fatal(err)
		}

		left := e.files(t)
		if i < 2 && !slices.Equal(left, files) {
			t.Fatalf("files after the deletion by %s: %v, want %v", m.Project(), left, files)
		}

		if i == 2 && len(left) != 0 {
			t.Fatalf("files after the last deletion: %v", left)
		}
	}

	if e.pruned.Load() != 1 {
		t.Fatalf("bases pruned %d times, want once, after the last deletion", e.pruned.Load())
	}
}
