package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

func TestManagerSnapshotsCopyPublish(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	addImage(t, m, testImage(t, "{{ container.name }}\n"), "img")
	img, err := m.ResolveImage(ctx, "default", "img", "")
	if err != nil {
		t.Fatal(err)
	}

	err = m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Image: img, Config: map[string]string{"user.a": "1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	write := func(name string, path string, data string) {
		t.Helper()
		root, err := m.pool.Mount(name)
		if err != nil {
			t.Fatal(err)
		}

		err = os.WriteFile(filepath.Join(root, path), []byte(data), 0o644)
		if err != nil {
			t.Fatal(err)
		}

		err = m.pool.Unmount(name)
		if err != nil {
			t.Fatal(err)
		}
	}

	read := func(name string, path string) string {
		t.Helper()
		root, err := m.pool.Mount(name)
		if err != nil {
			t.Fatal(err)
		}

		defer func() { _ = m.pool.Unmount(name) }()
		data, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			return ""
		}

		return string(data)
	}

	write("c1", "state", "one")
	err = m.CreateSnapshot(ctx, "c1", "snap0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	err = m.CreateSnapshot(ctx, "c1", "snap0", time.Time{})
	if httpStatus(t, err) != 409 {
		t.Fatalf("duplicate snapshot: got %v, want 409", err)
	}

	err = m.CreateSnapshot(ctx, "nope", "snap0", time.Time{})
	if httpStatus(t, err) != 404 {
		t.Fatalf("snapshot of an unknown instance: got %v, want 404", err)
	}

	next, err := m.NextSnapshotName(ctx, "c1")
	if err != nil || next != "snap1" {
		t.Fatalf("next name: got %q, %v", next, err)
	}

	write("c1", "state", "two")
	err = m.Update(ctx, "c1", api.InstancePut{Config: map[string]string{"user.a": "2"}, Profiles: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}

	err = m.RestoreSnapshot(ctx, "c1", "snap0")
	if err != nil {
		t.Fatal(err)
	}

	inst, err := m.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	if read("c1", "state") != "one" || inst.Config["user.a"] != "1" || read("c1", "etc/hostname") != "c1\n" {
		t.Fatalf("after restore: state %q, user.a %q", read("c1", "state"), inst.Config["user.a"])
	}

	// A copy of the snapshot is independent of the instance and renders the copy templates.
	err = m.ValidateCopy(ctx, CopyArgs{Source: "c1/snap0", Name: "c2", Profiles: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1/snap0", Name: "c2", Config: map[string]string{"user.b": "x"}})
	if err != nil {
		t.Fatal(err)
	}

	c2, err := m.Get(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}

	if c2.Config["user.a"] != "1" || c2.Config["user.b"] != "x" || c2.Config[KeyUUID] == inst.Config[KeyUUID] {
		t.Fatalf("copy config: %v", c2.Config)
	}

	write("c2", "state", "copy")
	if read("c1", "state") != "one" {
		t.Fatal("writing the copy changed the source")
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1/nope", Name: "c3"})
	if httpStatus(t, err) != 404 {
		t.Fatalf("copy of an unknown snapshot: got %v", err)
	}

	_, err = os.Stat(m.pool.ContainerPath("c3"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed copy left storage: %v", err)
	}

	// Publishing a snapshot gives an image that holds its content.
	pending, err := m.Publish(ctx, PublishArgs{Instance: "c1", Snapshot: "snap0", Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}

	if pending.Metadata.Properties["os"] != "test" || pending.Metadata.Templates["/etc/hostname"] == nil {
		t.Fatalf("published metadata: %+v", pending.Metadata)
	}

	pending.Abort()

	// Expiry: only snapshots whose time has come go.
	err = m.CreateSnapshot(ctx, "c1", "soon", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	n, err := m.PruneExpiredSnapshots(ctx, time.Now())
	if err != nil || n != 0 {
		t.Fatalf("prune now: got %d, %v", n, err)
	}

	n, err = m.PruneExpiredSnapshots(ctx, time.Now().Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("prune later: got %d, %v", n, err)
	}

	_, err = m.Snapshot(ctx, "c1", "soon")
	if httpStatus(t, err) != 404 {
		t.Fatalf("expired snapshot: got %v", err)
	}

	err = m.RenameSnapshot(ctx, "c1", "snap0", "first")
	if err != nil {
		t.Fatal(err)
	}

	err = m.DeleteSnapshot(ctx, "c1", "first")
	if err != nil {
		t.Fatal(err)
	}

	_, err = os.Stat(m.pool.SnapshotPath("c1", "first"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot storage left: %v", err)
	}

	err = m.DeleteSnapshot(ctx, "c1", "first")
	if httpStatus(t, err) != 404 {
		t.Fatalf("deleting a missing snapshot: got %v", err)
	}
}

// TestCreateSnapshotFailureLeavesNoRecord: a snapshot whose storage cannot be made leaves no row.
func TestCreateSnapshotFailureLeavesNoRecord(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = os.MkdirAll(m.pool.SnapshotPath("c1", "s0"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	err = m.CreateSnapshot(ctx, "c1", "s0", time.Time{})
	if err == nil {
		t.Fatal("got no error with the snapshot's storage in the way")
	}

	_, err = m.Snapshot(ctx, "c1", "s0")
	if httpStatus(t, err) != 404 {
		t.Fatalf("got %v, want no row for the failed snapshot", err)
	}
}
