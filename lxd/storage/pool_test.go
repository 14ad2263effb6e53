package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// needRoot skips, loudly, tests that mount.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: overlay mounts need root")
	}
}

func writeBase(ctx context.Context, dest string) error {
	err := os.MkdirAll(filepath.Join(dest, "etc"), 0o755)
	if err != nil {
		return err
	}

	return os.WriteFile(filepath.Join(dest, "etc", "hostname"), []byte("base\n"), 0o644)
}

func TestOverlayOptions(t *testing.T) {
	got := OverlayOptions("/p/images/fp/rootfs", "/p/containers/c1/upper", "/p/containers/c1/work")
	want := "lowerdir=/p/images/fp/rootfs,upperdir=/p/containers/c1/upper,workdir=/p/containers/c1/work"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestBaseName(t *testing.T) {
	tests := []struct {
		fp       string
		uid, gid int64
		want     string
	}{
		{"abc", 0, 0, "abc"},
		{"abc", 1000000, 1000000, "abc.shifted-1000000-1000000"},
	}

	for _, tt := range tests {
		got := BaseName(tt.fp, tt.uid, tt.gid)
		if got != tt.want || BaseImage(got) != tt.fp {
			t.Fatalf("BaseName(%q, %d, %d) = %q (image %q), want %q", tt.fp, tt.uid, tt.gid, got, BaseImage(got), tt.want)
		}
	}
}

// TestPoolMarksTreeDirs checks that the directories under which a dir pool writes whole trees carry the mark that
// spreads them over the file system (where the file system keeps it: root on ext4).
func TestPoolMarksTreeDirs(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() != 0 || fsutil.MarkTreeTop(dir) != nil {
		t.Skip("SKIPPED: the file system of the temporary directory keeps no directory flags, or not for this user")
	}

	p, err := NewDirPool("default", filepath.Join(dir, "pool"))
	if err != nil {
		t.Fatal(err)
	}

	for _, d := range []string{filepath.Join(p.Dir(), "images"), filepath.Join(p.Dir(), "containers")} {
		top, err := fsutil.IsTreeTop(d)
		if err != nil || !top {
			t.Errorf("%s: top=%v err=%v, want a marked directory", d, top, err)
		}
	}

	top, err := fsutil.IsTreeTop(p.Dir())
	if err != nil || top {
		t.Errorf("the pool's own directory: top=%v err=%v, want an unmarked one", top, err)
	}
}

func TestEnsureBaseOnce(t *testing.T) {
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	calls := 0
	unpack := func(ctx context.Context, dest string) error {
		calls++
		return writeBase(ctx, dest)
	}

	for range 3 {
		_, err = p.EnsureBase(context.Background(), "fp1", unpack)
		if err != nil {
			t.Fatal(err)
		}
	}

	if calls != 1 {
		t.Fatalf("got %d unpacks, want 1", calls)
	}

	failing := func(ctx context.Context, dest string) error {
		_ = writeBase(ctx, dest)
		return errors.New("broken image")
	}

	_, err = p.EnsureBase(context.Background(), "fp2", failing)
	if err == nil || p.HasBase("fp2") {
		t.Fatalf("got %v and base present %v, want an error and no base", err, p.HasBase("fp2"))
	}

	bases, err := p.Bases()
	if err != nil || len(bases) != 1 || bases[0] != "fp1" {
		t.Fatalf("got bases %v %v, want [fp1]", bases, err)
	}

	_, err = p.EnsureBase(context.Background(), "../escape", unpack)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid for a bad base name", err)
	}
}

// poolWithBase returns a dir pool holding the base "fp" (writeBase).
func poolWithBase(t *testing.T) *Pool {
	t.Helper()
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	_, err = p.EnsureBase(context.Background(), "fp", writeBase)
	if err != nil {
		t.Fatal(err)
	}

	return p
}

func TestOverlayContainer(t *testing.T) {
	needRoot(t)
	p := poolWithBase(t)
	err := p.CreateContainer("c1", "fp", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "fp", 0, 0)
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict for a second create", err)
	}

	rootfs, err := p.Mount("c1")
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = p.Unmount("c1") }()
	_, err = p.Mount("c1")
	if err != nil {
		t.Fatalf("a second mount failed: %v", err)
	}

	data, err := os.ReadFile(filepath.Join(rootfs, "etc", "hostname"))
	if err != nil || string(data) != "base\n" {
		t.Fatalf("got %q %v, want the base's file through the overlay", data, err)
	}

	err = os.WriteFile(filepath.Join(rootfs, "etc", "hostname"), []byte("c1\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	base, err := os.ReadFile(filepath.Join(p.BaseRootfs("fp"), "etc", "hostname"))
	if err != nil || string(base) != "base\n" {
		t.Fatalf("got base file %q %v, want it untouched", base, err)
	}

	upper, err := os.ReadFile(filepath.Join(p.ContainerPath("c1"), "upper", "etc", "hostname"))
	if err != nil || string(upper) != "c1\n" {
		t.Fatalf("got upper file %q %v, want the container's write", upper, err)
	}

	err = p.DeleteContainer("c1")
	if err != nil {
		t.Fatal(err)
	}

	if p.IsMounted("c1") {
		t.Fatal("the container is still mounted after delete")
	}

	_, err = os.Stat(p.ContainerPath("c1"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want the container directory gone", err)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	got := unescapeMountPath(`/a\040b/c`)
	if got != "/a b/c" {
		t.Fatalf("got %q, want %q", got, "/a b/c")
	}
}

func TestEnsureBaseUnpacksImagesConcurrently(t *testing.T) {
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	started, release := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, dest string) error {
		close(started)
		<-release
		return writeBase(ctx, dest)
	}

	var calls atomic.Int32
	counted := func(ctx context.Context, dest string) error {
		calls.Add(1)
		return writeBase(ctx, dest)
	}

	slowDone := make(chan error, 2)
	go func() {
		_, err := p.EnsureBase(context.Background(), "slow", slow)
		slowDone <- err
	}()

	<-started

	// A second caller for the same base waits for the first and does not unpack again.
	go func() {
		_, err := p.EnsureBase(context.Background(), "slow", counted)
		slowDone <- err
	}()

	// Another image's base is unpacked while the first one is still being unpacked.
	_, err = p.EnsureBase(context.Background(), "other", counted)
	if err != nil || !p.HasBase("other") {
		t.Fatalf("got %v, want the other base while the first unpacks", err)
	}

	close(release)
	for range 2 {
		err = <-slowDone
		if err != nil {
			t.Fatal(err)
		}
	}

	if calls.Load() != 1 || !p.HasBase("slow") {
		t.Fatalf("got %d unpacks by the counted function, want 1 (the other base only)", calls.Load())
	}
}

func TestRestoreSnapshotSwapsWholeDirectory(t *testing.T) {
	needRoot(t)
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	dir := p.ContainerPath("c1")
	write := func(path string, content string) {
		t.Helper()
		err := os.WriteFile(path, []byte(content), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}

	write(filepath.Join(dir, "rootfs", "file"), "then\n")
	write(filepath.Join(dir, "metadata.yaml"), "then\n")
	err = p.CreateSnapshot("c1", "s0", nil)
	if err != nil {
		t.Fatal(err)
	}

	write(filepath.Join(p.SnapshotPath("c1", "s0"), "metadata.yaml"), "then\n")
	write(filepath.Join(dir, "rootfs", "file"), "now\n")
	write(filepath.Join(dir, "rootfs", "new"), "now\n")
	write(filepath.Join(dir, "metadata.yaml"), "now\n")

	err = p.RestoreSnapshot("c1", "s0")
	if err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]string{"rootfs/file": "then\n", "metadata.yaml": "then\n", "lower": "\n"} {
		data, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil || string(data) != want {
			t.Errorf("%s: got %q %v, want %q", path, data, err, want)
		}
	}

	_, err = os.Stat(filepath.Join(dir, "rootfs", "new"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file made after the snapshot survived the restore: %v", err)
	}

	entries, err := os.ReadDir(filepath.Join(p.Dir(), "containers"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("got %v %v in containers/, want c1 alone (nothing left apart)", entries, err)
	}

	// A snapshot without its storage changes nothing.
	err = p.RestoreSnapshot("c1", "gone")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

// TestTransientMount checks that a transient mount's writes are there at the next mount, which its marker does not
// prevent, and that a leftover marker (of a daemon killed while the mount was up) does not either.
func TestTransientMount(t *testing.T) {
	needRoot(t)
	p := poolWithBase(t)
	err := p.CreateContainer("c1", "fp", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = p.DeleteContainer("c1") }()
	rootfs, err := p.MountTransient("c1")
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(rootfs, "etc", "hostname"), []byte("c1\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = p.Unmount("c1")
	if err != nil {
		t.Fatal(err)
	}

	for _, leftover := range []bool{false, true} {
		if leftover {
			err = os.MkdirAll(filepath.Join(volatileMarker(filepath.Join(p.ContainerPath("c1"), "work")), "dirty"), 0o700)
			if err != nil {
				t.Fatal(err)
			}
		}

		rootfs, err = p.Mount("c1")
		if err != nil {
			t.Fatalf("mount after a transient one (leftover marker %v): %v", leftover, err)
		}

		data, err := os.ReadFile(filepath.Join(rootfs, "etc", "hostname"))
		if err != nil || string(data) != "c1\n" {
			t.Fatalf("got %q %v, want the transient mount's write", data, err)
		}

		err = p.Unmount("c1")
		if err != nil {
			t.Fatal(err)
		}
	}
}
