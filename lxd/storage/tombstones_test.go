package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// entries returns the names in dir, sorted; a missing dir is empty.
func entries(t *testing.T, dir string) string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}

	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}

	sort.Strings(names)
	return strings.Join(names, " ")
}

func mkdirs(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := os.MkdirAll(p, 0o700)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestTombstoneOwner(t *testing.T) {
	tests := []struct {
		entry string
		owner string
		ok    bool
	}{
		{".deleted-c1.1700000000", "c1", true},
		{".deleted-fp.shifted-1000-1000.17", "fp.shifted-1000-1000", true},
		{".deleted-.17", "", false},
		{".deleted-c1", "", false},
		{".tmp-123", "", false},
		{"c1", "", false},
	}

	for _, tt := range tests {
		owner, ok := tombstoneOwner(tt.entry)
		if owner != tt.owner || ok != tt.ok {
			t.Errorf("tombstoneOwner(%q) = %q %v, want %q %v", tt.entry, owner, ok, tt.owner, tt.ok)
		}
	}
}

// A base removal cut short leaves a tombstone, never part of the base under its name, and the next start removes it.
func TestDeleteBaseCrashLeavesNoBase(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	_, err = p.EnsureBase(context.Background(), "fp1", writeBase)
	if err != nil {
		t.Fatal(err)
	}

	// The state of a crash between the rename and the end of the removal, with part of the tree removed.
	tomb, err := entomb(p.basePath("fp1"))
	if err != nil {
		t.Fatal(err)
	}

	err = os.RemoveAll(filepath.Join(tomb, "rootfs", "etc"))
	if err != nil {
		t.Fatal(err)
	}

	bases, err := p.Bases()
	if err != nil || len(bases) != 0 || p.HasBase("fp1") {
		t.Fatalf("got bases %v %v (has fp1: %v), want none", bases, err, p.HasBase("fp1"))
	}

	_, err = NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	got := entries(t, filepath.Join(dir, "images"))
	if got != "" {
		t.Fatalf("got %q in images/ after a restart, want nothing", got)
	}

	// And the base is unpacked again, whole, when next needed.
	unpacked, err := p.EnsureBase(context.Background(), "fp1", writeBase)
	if err != nil || !unpacked {
		t.Fatalf("got %v %v, want the base unpacked again", unpacked, err)
	}

	_, err = os.Stat(filepath.Join(p.BaseRootfs("fp1"), "etc", "hostname"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeleteBaseRemovesAll(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	_, err = p.EnsureBase(context.Background(), "fp1", writeBase)
	if err != nil {
		t.Fatal(err)
	}

	err = p.DeleteBase("fp1")
	if err != nil {
		t.Fatal(err)
	}

	got := entries(t, filepath.Join(dir, "images"))
	if got != "" {
		t.Fatalf("got %q in images/, want nothing", got)
	}
}

// Bases without their completeness file at start: an unused one is removed, one a container is built on (made
// before the file existed) is kept and marked complete.
func TestNewDirPoolChecksBases(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	for _, base := range []string{"used", "unused", "whole"} {
		_, err = p.EnsureBase(context.Background(), base, writeBase)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = p.CreateContainer("c1", "used", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	for _, base := range []string{"used", "unused"} {
		err = os.Remove(filepath.Join(p.basePath(base), baseComplete))
		if err != nil {
			t.Fatal(err)
		}
	}

	if p.HasBase("unused") {
		t.Fatal("a base without its completeness file counts as a base")
	}

	err = p.CreateContainer("c2", "unused", 0, 0)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v creating a container on an incomplete base, want ErrNotFound", err)
	}

	p, err = NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	bases, err := p.Bases()
	sort.Strings(bases)
	if err != nil || strings.Join(bases, " ") != "used whole" {
		t.Fatalf("got bases %v %v, want used and whole", bases, err)
	}

	if !p.HasBase("used") || !p.HasBase("whole") {
		t.Fatal("the bases kept are not complete")
	}
}

// An unfinished base left under its final name (no completeness file) is replaced by a fresh unpack.
func TestEnsureBaseReplacesIncomplete(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	mkdirs(t, filepath.Join(p.BaseRootfs("fp1"), "partial"))
	unpacked, err := p.EnsureBase(context.Background(), "fp1", writeBase)
	if err != nil || !unpacked {
		t.Fatalf("got %v %v, want a fresh unpack", unpacked, err)
	}

	got := entries(t, p.BaseRootfs("fp1"))
	if got != "etc" {
		t.Fatalf("got %q in the base, want etc alone", got)
	}

	got = entries(t, filepath.Join(dir, "images"))
	if got != "fp1" {
		t.Fatalf("got %q in images/, want fp1 alone", got)
	}
}

func TestDeleteContainerRemovesSnapshots(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateSnapshot("c1", "s0", nil)
	if err != nil {
		t.Fatal(err)
	}

	err = p.DeleteContainer("c1")
	if err != nil {
		t.Fatal(err)
	}

	// The emptied tombstone records the deletion until the caller is done with the row.
	got := entries(t, filepath.Join(dir, "containers-snapshots"))
	if got != "" {
		t.Errorf("got %q in containers-snapshots/, want nothing", got)
	}

	got = entries(t, filepath.Join(dir, "containers"))
	if !strings.HasPrefix(got, ".deleted-c1.") || strings.Contains(got, " ") {
		t.Fatalf("got %q in containers/, want the tombstone of c1 alone", got)
	}

	got = entries(t, filepath.Join(dir, "containers", got))
	if got != "" {
		t.Fatalf("got %q in the tombstone, want it empty", got)
	}

	deleted := p.DeletedContainers()
	if len(deleted) != 1 || !deleted["c1"] {
		t.Fatalf("got %v, want the deletion of c1 pending", deleted)
	}

	err = p.RemoveTombstones("other")
	if err != nil {
		t.Fatal(err)
	}

	if len(p.DeletedContainers()) != 1 {
		t.Fatal("the tombstone of another container was removed")
	}

	err = p.RemoveTombstones("c1")
	if err != nil {
		t.Fatal(err)
	}

	got = entries(t, filepath.Join(dir, "containers"))
	if got != "" {
		t.Fatalf("got %q in containers/, want nothing", got)
	}
}

// Opening the pool removes the tombstones of bases, single snapshots and orphans, and keeps those of containers
// (and of all of a container's snapshots) for the instance manager, which finishes their rows' deletion.
func TestNewDirPoolTombstones(t *testing.T) {
	dir := t.TempDir()
	removed := []string{
		filepath.Join(dir, "images", ".deleted-fp1.1"),
		filepath.Join(dir, "containers-snapshots", "c1", ".deleted-s0.1"),
		filepath.Join(dir, "orphans", ".deleted-c9.5.1"),
	}

	kept := []string{
		filepath.Join(dir, "containers", ".deleted-c2.1"),
		filepath.Join(dir, "containers-snapshots", ".deleted-c3.1"),
		filepath.Join(dir, "containers-snapshots", "c1", "s1"),
	}

	mkdirs(t, append(removed, kept...)...)
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	for _, d := range removed {
		_, err = os.Stat(d)
		if !os.IsNotExist(err) {
			t.Errorf("got %v for %s, want it removed", err, d)
		}
	}

	for _, d := range kept {
		_, err = os.Stat(d)
		if err != nil {
			t.Errorf("got %v for %s, want it kept", err, d)
		}
	}

	deleted := p.DeletedContainers()
	if len(deleted) != 2 || !deleted["c2"] || !deleted["c3"] {
		t.Fatalf("got deletions %v pending, want c2 and c3", deleted)
	}

	err = p.RemoveTombstones()
	if err != nil {
		t.Fatal(err)
	}

	if len(p.DeletedContainers()) != 0 {
		t.Fatalf("got %v, want no deletion pending", p.DeletedContainers())
	}

	got := entries(t, filepath.Join(dir, "containers-snapshots"))
	if got != "c1" {
		t.Fatalf("got %q in containers-snapshots/, want c1 alone", got)
	}
}

func TestDeleteSnapshotRemovesAll(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	for _, snap := range []string{"s0", "s1"} {
		err = p.CreateSnapshot("c1", snap, nil)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = p.DeleteSnapshot("c1", "s0")
	if err != nil {
		t.Fatal(err)
	}

	got := entries(t, filepath.Join(dir, "containers-snapshots", "c1"))
	if got != "s1" {
		t.Fatalf("got %q, want s1 alone", got)
	}

	err = p.DeleteSnapshots("c1")
	if err != nil {
		t.Fatal(err)
	}

	got = entries(t, filepath.Join(dir, "containers-snapshots"))
	if got != "" {
		t.Fatalf("got %q, want nothing", got)
	}
}

func TestCreateSnapshotExtra(t *testing.T) {
	needRoot(t)
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	// A failing extra step leaves no snapshot behind.
	err = p.CreateSnapshot("c1", "s0", func(dir string) error { return errors.New("boom") })
	if err == nil {
		t.Fatal("got no error from a failing extra step")
	}

	got := entries(t, p.snapshotsPath("c1"))
	if got != "" {
		t.Fatalf("got %q, want nothing after a failed snapshot", got)
	}

	err = p.CreateSnapshot("c1", "s0", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "metadata.yaml"), []byte("m\n"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}

	got = entries(t, p.SnapshotPath("c1", "s0"))
	if got != "metadata.yaml rootfs" {
		t.Fatalf("got %q in the snapshot, want metadata.yaml and rootfs", got)
	}
}

func TestCopySnapshot(t *testing.T) {
	needRoot(t)
	p, err := NewDirPool("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainer("c1", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(p.ContainerRootfs("c1"), "file"), []byte("data\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateSnapshot("c1", "s0", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "metadata.yaml"), []byte("m\n"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}

	err = p.CopySnapshot("c1", "c2", "s0")
	if err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]string{"rootfs/file": "data\n", "metadata.yaml": "m\n"} {
		data, err := os.ReadFile(filepath.Join(p.SnapshotPath("c2", "s0"), path))
		if err != nil || string(data) != want {
			t.Errorf("%s: got %q %v, want %q", path, data, err, want)
		}
	}

	got := entries(t, p.snapshotsPath("c2"))
	if got != "s0" {
		t.Fatalf("got %q, want s0 alone (nothing left apart)", got)
	}

	err = p.CopySnapshot("c1", "c2", "s0")
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v copying onto an existing snapshot, want ErrConflict", err)
	}
}

func TestOrphans(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	mkdirs(t, filepath.Join(p.OrphansPath(), "c1.17"), filepath.Join(p.OrphansPath(), "c1.s.0.18"),
		filepath.Join(p.OrphansPath(), ".deleted-c2.19.20"))
	orphans, err := p.Orphans()
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, o := range orphans {
		got = append(got, filepath.Base(o.Path)+"="+o.Instance+"/"+o.Snapshot)
	}

	sort.Strings(got)
	want := "c1.17=c1/ c1.s.0.18=c1/s.0"
	if strings.Join(got, " ") != want {
		t.Fatalf("got orphans %v, want %s", got, want)
	}

	err = p.RemoveOrphan(orphans[0])
	if err != nil {
		t.Fatal(err)
	}

	orphans, err = p.Orphans()
	if err != nil || len(orphans) != 1 {
		t.Fatalf("got %v %v, want one orphan left", orphans, err)
	}
}
