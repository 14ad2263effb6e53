package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func fillStaged(t *testing.T, b *StagedBase, content string) {
	t.Helper()
	err := os.MkdirAll(filepath.Join(b.Rootfs(), "etc"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(b.Rootfs(), "etc", "os-release"), []byte(content), 0o644)
	if err != nil {
		t.Fatal(err)
	}
}

func TestStagedBasePublish(t *testing.T) {
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	b, err := p.StageBase()
	if err != nil {
		t.Fatal(err)
	}

	// A staged base is not a base: it is neither listed nor used.
	fillStaged(t, b, "import")
	bases, err := p.Bases()
	if err != nil || len(bases) != 0 || p.HasBase("img") {
		t.Fatalf("bases %v (%v) while staged, want none", bases, err)
	}

	published, err := b.Publish("img")
	if err != nil || !published {
		t.Fatalf("got %v, %v, want published", published, err)
	}

	if !p.HasBase("img") {
		t.Fatal("the published base is not complete")
	}

	data, err := os.ReadFile(filepath.Join(p.BaseRootfs("img"), "etc", "os-release"))
	if err != nil || string(data) != "import" {
		t.Fatalf("got %q, %v, want the staged content", data, err)
	}

	// A launch finds it ready.
	unpacked, err := p.EnsureBase(context.Background(), "img", func(ctx context.Context, dest string) error {
		t.Fatal("the base was unpacked again")
		return nil
	})
	if err != nil || unpacked {
		t.Fatalf("got %v, %v, want the published base used", unpacked, err)
	}

	// A second staged base of the same name is discarded, and the first one kept.
	b2, err := p.StageBase()
	if err != nil {
		t.Fatal(err)
	}

	fillStaged(t, b2, "second")
	published, err = b2.Publish("img")
	if err != nil || published {
		t.Fatalf("got %v, %v, want the second staged base discarded", published, err)
	}

	data, _ = os.ReadFile(filepath.Join(p.BaseRootfs("img"), "etc", "os-release"))
	if string(data) != "import" {
		t.Fatalf("got %q, want the first base kept", data)
	}

	assertNoStaged(t, p)
}

func TestStagedBaseLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	b, err := p.StageBase()
	if err != nil {
		t.Fatal(err)
	}

	fillStaged(t, b, "half")

	// A restart removes it.
	p, err = NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	assertNoStaged(t, p)

	// Discarding one removes it, and a later Publish fails without making a base.
	b, err = p.StageBase()
	if err != nil {
		t.Fatal(err)
	}

	b.Discard()
	assertNoStaged(t, p)
	_, err = b.Publish("img")
	if err == nil || p.HasBase("img") {
		t.Fatalf("got %v, want a discarded base not published", err)
	}

	_, err = b.Publish("../x")
	if err == nil {
		t.Fatal("a bad base name was accepted")
	}
}

func assertNoStaged(t *testing.T, p *Pool) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(p.Dir(), "images", ".tmp-*"))
	if err != nil || len(left) != 0 {
		t.Fatalf("staged bases left: %v (%v)", left, err)
	}
}
