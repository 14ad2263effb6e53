package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// openVolumePools opens fresh pools with two dir pools, p1 and p2, and returns them with their directories.
func openVolumePools(t *testing.T) (*Pools, string, string) {
	t.Helper()
	ps, _, dir := openTestPools(t)
	ctx := context.Background()
	var srcs []string
	for _, name := range []string{"p1", "p2"} {
		src := filepath.Join(dir, "src-"+name)
		err := ps.Create(ctx, api.StoragePoolsPost{Name: name, Driver: "dir",
			StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": src}}})
		if err != nil {
			t.Fatal(err)
		}

		srcs = append(srcs, src)
	}

	return ps, srcs[0], srcs[1]
}

// volumeNames lists the names of the custom volumes (and snapshots) of a pool.
func volumeNames(t *testing.T, ps *Pools, pool string) string {
	t.Helper()
	vols, err := ps.Volumes(context.Background(), pool, VolumeTypeCustom)
	if err != nil {
		t.Fatal(err)
	}

	var out []string
	for _, v := range vols {
		out = append(out, v.Name)
	}

	sort.Strings(out)
	return strings.Join(out, " ")
}

// dirEntries lists what dir holds.
func dirEntries(dir string) string {
	list, _ := os.ReadDir(dir)
	var out []string
	for _, e := range list {
		out = append(out, e.Name())
	}

	return strings.Join(out, " ")
}

func TestVolumesLifecycle(t *testing.T) {
	ps, src1, src2 := openVolumePools(t)
	ctx := context.Background()

	err := ps.CreateVolume(ctx, "p1", api.StorageVolumesPost{Name: "v1",
		StorageVolumePut: api.StorageVolumePut{Config: map[string]string{"user.a": "1"}}})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		req  api.StorageVolumesPost
		want error
	}{
		{"slash", api.StorageVolumesPost{Name: "a/b"}, errs.ErrInvalid},
		{"dot", api.StorageVolumesPost{Name: ".a"}, errs.ErrInvalid},
		{"key", api.StorageVolumesPost{Name: "v2", StorageVolumePut: api.StorageVolumePut{Config: map[string]string{"nope": "1"}}}, errs.ErrInvalid},
		{"volatile", api.StorageVolumesPost{Name: "v2", StorageVolumePut: api.StorageVolumePut{Config: map[string]string{"volatile.x": "1"}}}, errs.ErrInvalid},
		{"size", api.StorageVolumesPost{Name: "v2", StorageVolumePut: api.StorageVolumePut{Config: map[string]string{"size": "big"}}}, errs.ErrInvalid},
		{"type", api.StorageVolumesPost{Name: "v2", Type: "image"}, errs.ErrInvalid},
		{"block", api.StorageVolumesPost{Name: "v2", ContentType: "block"}, errs.ErrUnsupported},
		{"exists", api.StorageVolumesPost{Name: "v1"}, errs.ErrConflict},
		{"copy of nothing", api.StorageVolumesPost{Name: "v2", Source: api.StorageVolumeSource{Type: "copy", Name: "nope"}}, errs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ps.CreateVolume(ctx, "p1", tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	if got := volumeNames(t, ps, "p1"); got != "v1" {
		t.Fatalf("volumes after refused creations: got %q, want %q", got, "v1")
	}

	path, err := ps.PrepareVolume(ctx, "p1", "v1", "")
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(path, "f"), []byte("one"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	snap, err := ps.CreateVolumeSnapshot(ctx, "p1", VolumeTypeCustom, "v1", "", zeroTime)
	if err != nil || snap != "snap0" {
		t.Fatalf("snapshot: %q, %v", snap, err)
	}

	err = os.WriteFile(filepath.Join(path, "f"), []byte("two"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = ps.UpdateVolume(ctx, "p1", VolumeTypeCustom, "v1", api.StorageVolumePut{Restore: "snap0"})
	if err != nil {
		t.Fatal(err)
	}

	data, _ := os.ReadFile(filepath.Join(path, "f"))
	if string(data) != "one" {
		t.Fatalf("restored content: got %q, want %q", data, "one")
	}

	err = ps.CopyVolume(ctx, ps, "p2", api.StorageVolumesPost{Name: "c1",
		Source: api.StorageVolumeSource{Type: "copy", Pool: "p1", Name: "v1"}}, false)
	if err != nil {
		t.Fatal(err)
	}

	err = ps.RenameVolume(ctx, "p1", VolumeTypeCustom, "v1", api.StorageVolumePost{Name: "v2"})
	if err != nil {
		t.Fatal(err)
	}

	err = ps.RenameVolume(ctx, "p1", VolumeTypeCustom, "v2", api.StorageVolumePost{Name: "m1", Pool: "p2"})
	if err != nil {
		t.Fatal(err)
	}

	if got, want := volumeNames(t, ps, "p1")+"|"+volumeNames(t, ps, "p2"), "|c1 c1/snap0 m1 m1/snap0"; got != want {
		t.Fatalf("volumes: got %q, want %q", got, want)
	}

	if got := dirEntries(filepath.Join(src1, customDir)) + dirEntries(filepath.Join(src1, customSnapshotDir)); got != "" {
		t.Fatalf("storage left on p1 after the move: %q", got)
	}

	for _, name := range []string{"c1", "m1"} {
		err = ps.DeleteVolume(ctx, "p2", VolumeTypeCustom, name)
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := dirEntries(filepath.Join(src2, customDir)) + dirEntries(filepath.Join(src2, customSnapshotDir)); got != "" {
		t.Fatalf("storage left on p2 after the deletions: %q", got)
	}
}

func TestRepairVolumesRemovesUncommitted(t *testing.T) {
	ps, src1, _ := openVolumePools(t)
	ctx := context.Background()
	err := ps.CreateVolume(ctx, "p1", api.StorageVolumesPost{Name: "v1"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = ps.CreateVolumeSnapshot(ctx, "p1", VolumeTypeCustom, "v1", "s0", zeroTime)
	if err != nil {
		t.Fatal(err)
	}

	keep := dirEntries(filepath.Join(src1, customDir)) + "|" + dirEntries(filepath.Join(src1, customSnapshotDir, "1"))
	for _, p := range []string{"custom/999/x", "custom/.tmp-1/vol", "custom/.deleted-3.1", "custom-snapshots/999/1",
		"custom-snapshots/1/77", "custom-snapshots/1/.tmp-2", "custom-snapshots/.tmp-3"} {
		err = os.MkdirAll(filepath.Join(src1, p), 0o700)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = ps.RepairVolumes(ctx)
	if err != nil {
		t.Fatal(err)
	}

	got := dirEntries(filepath.Join(src1, customDir)) + "|" + dirEntries(filepath.Join(src1, customSnapshotDir, "1"))
	if got != keep || dirEntries(filepath.Join(src1, customSnapshotDir)) != "1" {
		t.Fatalf("after the repair: got %q and %q, want %q and %q", got, dirEntries(filepath.Join(src1, customSnapshotDir)), keep, "1")
	}
}

func TestRemapID(t *testing.T) {
	m1 := []idmapEntry{{Isuid: true, Hostid: 100000, Maprange: 65536}, {Isgid: true, Hostid: 200000, Maprange: 65536}}
	m2 := []idmapEntry{{Isuid: true, Isgid: true, Hostid: 300000, Maprange: 65536}}
	for _, tc := range []struct {
		name     string
		from, to []idmapEntry
		id       int64
		uid      bool
		want     int64
	}{
		{"host to map", nil, m1, 0, true, 100000},
		{"host gid to map", nil, m1, 5, false, 200005},
		{"map to host", m1, nil, 100007, true, 7},
		{"map to map", m1, m2, 200009, false, 300009},
		{"outside the old map", m1, m2, 50, true, 50},
		{"outside the new map", nil, m1, 70000, true, 70000},
		{"shifted already", nil, m1, 100003, true, 100003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := remapID(tc.from, tc.to, tc.id, tc.uid)
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// zeroTime is no expiry.
var zeroTime time.Time
