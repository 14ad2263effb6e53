package storage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage/drivers"
	"github.com/lxd-go/lxd/shared/api"
)

// openTestPools opens the pools of a fresh database and daemon directory.
func openTestPools(t *testing.T) (*Pools, *db.DB, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	ps, err := OpenPools(context.Background(), OpenArgs{DB: d, PoolsDir: filepath.Join(dir, "storage-pools"),
		DisksDir: filepath.Join(dir, "disks"), DefaultSource: filepath.Join(dir, "storage-pools", DefaultPool)})
	if err != nil {
		t.Fatal(err)
	}

	return ps, d, dir
}

func canBtrfs() bool {
	_, err := exec.LookPath("mkfs.btrfs")
	return os.Geteuid() == 0 && err == nil
}

func TestOpenPoolsRegistersDefault(t *testing.T) {
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	ctx := context.Background()
	open := func() *Pools {
		t.Helper()
		ps, err := OpenPools(ctx, OpenArgs{DB: d, PoolsDir: filepath.Join(dir, "storage-pools")})
		if err != nil {
			t.Fatal(err)
		}

		return ps
	}

	// A first start records no pool, as LXD's.
	pools, err := open().List(ctx)
	if err != nil || len(pools) != 0 {
		t.Fatalf("pools of a first start: %+v, %v", pools, err)
	}

	// The data of a daemon from before pools were recorded: its instances are on the implicit dir pool "default".
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateInstance(ctx, db.Instance{Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	pools, err = open().List(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if len(pools) != 1 || pools[0].Name != DefaultPool || pools[0].Driver != "dir" ||
		pools[0].Config["source"] != filepath.Join(dir, "storage-pools", DefaultPool) || pools[0].Status != api.StoragePoolStatusCreated {
		t.Fatalf("unexpected pools: %+v", pools)
	}

	// A second start keeps the record as it is.
	if !open().Has(DefaultPool) {
		t.Fatal("default pool not opened again")
	}
}

func TestPoolsCreateRefusesBadInput(t *testing.T) {
	ps, _, dir := openTestPools(t)
	ctx := context.Background()
	full := filepath.Join(dir, "full")
	err := os.MkdirAll(filepath.Join(full, "x"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	for _, req := range []api.StoragePoolsPost{
		{Name: "", Driver: "dir"},
		{Name: "a/b", Driver: "dir"},
		{Name: "p1", Driver: "zfs"},
		{Name: "p1", Driver: "dir", StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"bogus": "1"}}},
		{Name: "p1", Driver: "dir", StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": full}}},
		{Name: DefaultPool, Driver: "dir"},
	} {
		err = ps.Create(ctx, req)
		if err == nil {
			t.Fatalf("%+v accepted", req)
		}
	}

	pools, err := ps.List(ctx)
	if err != nil || len(pools) != 1 {
		t.Fatalf("pools after refused creations: %+v, %v", pools, err)
	}
}

// exercisePool creates a container on pool, snapshots, restores and copies it, and checks what is stored where.
func exercisePool(t *testing.T, ps *Pools, pool string) {
	ctx := context.Background()
	p, err := ps.Get(pool)
	if err != nil {
		t.Fatal(err)
	}

	_, err = ps.EnsureBase(ctx, pool, "fp1", writeBase)
	if err != nil {
		t.Fatal(err)
	}

	err = ps.CreateContainer(ContainerArgs{Pool: pool, Name: "c-" + pool, Base: "fp1"})
	if err != nil {
		t.Fatal(err)
	}

	name := "c-" + pool
	if ps.PoolOf(name) != pool {
		t.Fatalf("%s found on %q", name, ps.PoolOf(name))
	}

	root, err := ps.Mount(name)
	if err != nil {
		t.Fatal(err)
	}

	if p.Driver() == "btrfs" && !drivers.IsSubvolume(root) {
		t.Fatal("the container's root filesystem is not a subvolume")
	}

	err = os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("c1\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = ps.CreateSnapshot(name, "snap0", nil)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("changed\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	_ = ps.Unmount(name)
	err = ps.RestoreSnapshot(name, "snap0")
	if err != nil {
		t.Fatal(err)
	}

	root, err = ps.Mount(name)
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(root, "etc", "hostname"))
	if err != nil || string(data) != "c1\n" {
		t.Fatalf("restored content %q, %v", data, err)
	}

	err = ps.CreateContainerFrom(ContainerArgs{Pool: pool, Name: name + "-copy"}, root)
	if err != nil {
		t.Fatal(err)
	}

	err = ps.CopySnapshot(name, name+"-copy", "snap0")
	if err != nil {
		t.Fatal(err)
	}

	data, err = os.ReadFile(filepath.Join(ps.SnapshotPath(name+"-copy", "snap0"), "rootfs", "etc", "hostname"))
	if err != nil || string(data) != "c1\n" {
		t.Fatalf("copied snapshot content %q, %v", data, err)
	}

	_ = ps.Unmount(name)
}

func TestPoolsDirAndBtrfs(t *testing.T) {
	needRoot(t)
	ps, _, dir := openTestPools(t)
	ctx := context.Background()
	src := filepath.Join(dir, "elsewhere", "p1")
	err := ps.Create(ctx, api.StoragePoolsPost{Name: "p1", Driver: "dir",
		StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": src}}})
	if err != nil {
		t.Fatal(err)
	}

	names := []string{"p1"}
	if canBtrfs() {
		err = ps.Create(ctx, api.StoragePoolsPost{Name: "b1", Driver: "btrfs",
			StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"size": "1GiB"}}})
		if err != nil {
			t.Fatal(err)
		}

		names = append(names, "b1")
		t.Cleanup(func() { _ = drivers.UnmountPath(filepath.Join(dir, "storage-pools", "b1")) })
	}

	for _, name := range names {
		exercisePool(t, ps, name)
	}

	_, err = os.Stat(filepath.Join(src, "containers", "c-p1"))
	if err != nil {
		t.Fatalf("container not under the pool's source: %v", err)
	}

	for _, name := range names {
		pool, err := ps.GetPool(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		want := []string{"/1.0/instances/c-" + name, "/1.0/instances/c-" + name + "-copy"}
		if strings.Join(pool.UsedBy, " ") != strings.Join(want, " ") {
			t.Fatalf("%s used by %v, want %v", name, pool.UsedBy, want)
		}

		err = ps.Delete(ctx, name)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "/1.0/instances/c-"+name) {
			t.Fatalf("deleting a used pool: %v", err)
		}

		for _, c := range []string{"c-" + name, "c-" + name + "-copy"} {
			err = ps.DeleteContainer(c)
			if err != nil {
				t.Fatal(err)
			}

			err = ps.RemoveTombstones(c)
			if err != nil {
				t.Fatal(err)
			}
		}

		res, err := ps.Resources(name)
		if err != nil || res.Space.Total == 0 {
			t.Fatalf("resources of %s: %+v, %v", name, res, err)
		}

		err = ps.Delete(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		if ps.Has(name) {
			t.Fatalf("%s still open", name)
		}
	}

	_, err = os.Stat(src)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dir pool source left: %v", err)
	}

	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), dir) {
		t.Fatalf("mounts left under %s", dir)
	}

	loops, _ := exec.Command("losetup", "-a").Output()
	if strings.Contains(string(loops), dir) {
		t.Fatalf("loop devices left: %s", loops)
	}

	_, err = os.Stat(filepath.Join(dir, "disks", "b1.img"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("loop file left: %v", err)
	}
}

func TestOpenPoolsRemovesPending(t *testing.T) {
	if !canBtrfs() {
		t.Skip("btrfs needs root and btrfs-progs")
	}

	ps, d, dir := openTestPools(t)
	_ = ps
	// What a crash after the driver made the pool, before its record was marked created, leaves.
	drv, _ := drivers.Load("btrfs")
	dp := &drivers.Pool{Name: "b1", Config: map[string]string{"size": "1GiB"}, MountPath: filepath.Join(dir, "storage-pools", "b1"),
		DisksDir: filepath.Join(dir, "disks")}
	err := drv.Create(dp)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = drv.Delete(dp) })

	_, err = drv.Mount(dp)
	if err != nil {
		t.Fatal(err)
	}

	err = d.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateStoragePool(ctx, db.StoragePool{Name: "b1", Driver: "btrfs", Config: map[string]string{"size": "1GiB"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	ps, err = OpenPools(context.Background(), OpenArgs{DB: d, PoolsDir: filepath.Join(dir, "storage-pools"),
		DisksDir: filepath.Join(dir, "disks")})
	if err != nil {
		t.Fatal(err)
	}

	pools, err := ps.List(context.Background())
	if err != nil || len(pools) != 1 {
		t.Fatalf("pools: %+v, %v", pools, err)
	}

	if drivers.IsMountPoint(dp.MountPath) {
		t.Fatal("pending pool still mounted")
	}

	_, err = os.Stat(filepath.Join(dir, "disks", "b1.img"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("loop file left: %v", err)
	}
}

func TestUnavailablePoolKeepsMissingContainers(t *testing.T) {
	ps, d, dir := openTestPools(t)
	ctx := context.Background()
	src := filepath.Join(dir, "p1")
	err := ps.Create(ctx, api.StoragePoolsPost{Name: "p1", Driver: "dir",
		StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": src}}})
	if err != nil {
		t.Fatal(err)
	}

	_, err = ps.ContainerBase("c1")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing container with every pool open: %v", err)
	}

	// The source is gone at the next start: the pool is unavailable, and a container found nowhere may be on it.
	err = os.Rename(src, src+".away")
	if err != nil {
		t.Fatal(err)
	}

	ps, err = OpenPools(ctx, OpenArgs{DB: d, PoolsDir: filepath.Join(dir, "storage-pools")})
	if err != nil {
		t.Fatal(err)
	}

	pool, err := ps.GetPool(ctx, "p1")
	if err != nil || pool.Status != api.StoragePoolStatusUnvailable {
		t.Fatalf("pool with its source gone: %+v, %v", pool, err)
	}

	_, err = ps.ContainerBase("c1")
	if !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("missing container with a pool unavailable: %v", err)
	}

	// Once the unavailable pool is deleted, a container found nowhere is missing again.
	err = ps.Delete(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}

	_, err = ps.ContainerBase("c1")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing container after the deletion: %v", err)
	}
}

func TestNoPools(t *testing.T) {
	ps := NewPools()
	if ps.Has(DefaultPool) {
		t.Fatal("an empty set has the default pool")
	}

	_, err := ps.ContainerBase("c1")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("container on no pool: %v", err)
	}

	err = ps.SetSize("c1", "")
	if err != nil {
		t.Fatalf("size of a container on no pool: %v", err)
	}

	err = ps.CreateContainer(ContainerArgs{Pool: DefaultPool, Name: "c1"})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("container on a missing pool: %v", err)
	}

	names, err := ps.Containers()
	if err != nil || len(names) != 0 {
		t.Fatalf("containers of no pool: %v, %v", names, err)
	}
}
