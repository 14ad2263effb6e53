package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage/drivers"
)

// Pools is the set of open storage pools, through which the instance manager reaches the storage of each
// container: a call about a container goes to the pool that holds it, as found on disk, so that what is routed
// where never drifts from what is stored where, even after a crash.
//
// Pools is seen from a project (see In): its custom volume methods work on the custom volumes of that project
// and its volume lists show the instances of that project. Without In, both are default's.
type Pools struct {
	*poolSet

	// project is the project whose instance volumes the volume methods show; custom is the project whose custom
	// volumes they work on ("" is default for both).
	project string
	custom  string

	// all makes the volume lists show the volumes of every project (see AllProjects).
	all bool
}

// poolSet is what every project's view of the pools shares.
type poolSet struct {
	mu    sync.RWMutex
	pools map[string]*Pool

	// svc manages the pools' records and drivers; nil for a fixed set of pools.
	svc *service

	// running reports whether an instance runs (see SetRunning); nil counts every instance as running.
	running func(name string) bool
}

// NewPools returns a fixed set of pools, the first one the fallback of containers found on no pool.
func NewPools(pools ...*Pool) *Pools {
	ps := &Pools{poolSet: &poolSet{pools: map[string]*Pool{}}}
	for _, p := range pools {
		ps.pools[p.Name()] = p
	}

	return ps
}

// In returns the pools seen from project: its instances' volumes, and the custom volumes of custom, the project
// that holds the custom volumes project reaches (project itself with features.storage.volumes, else default).
func (ps *Pools) In(project string, custom string) *Pools {
	if ps == nil {
		return nil
	}

	return &Pools{poolSet: ps.poolSet, project: project, custom: custom}
}

// AllProjects returns the pools seen from every project at once, for lists (?all-projects=true): Volumes lists the
// volumes of all projects, each with its project.
func (ps *Pools) AllProjects() *Pools {
	if ps == nil {
		return nil
	}

	return &Pools{poolSet: ps.poolSet, all: true}
}

// instanceProject is the project whose instance volumes the view shows.
func (ps *Pools) instanceProject() string {
	if ps.project == "" {
		return db.DefaultProject
	}

	return ps.project
}

// customProject is the project whose custom volumes the view works on.
func (ps *Pools) customProject() string {
	if ps.custom == "" {
		return db.DefaultProject
	}

	return ps.custom
}

// list returns the open pools, by name with the default pool first.
func (ps *Pools) list() []*Pool {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	out := make([]*Pool, 0, len(ps.pools))
	for _, p := range ps.pools {
		out = append(out, p)
	}

	sort.Slice(out, func(i, j int) bool {
		if (out[i].name == DefaultPool) != (out[j].name == DefaultPool) {
			return out[i].name == DefaultPool
		}

		return out[i].name < out[j].name
	})

	return out
}

// Has reports whether the pool called name is open.
func (ps *Pools) Has(name string) bool {
	_, err := ps.Get(name)
	return err == nil
}

// Get returns the open pool called name.
func (ps *Pools) Get(name string) (*Pool, error) {
	if ps == nil {
		return nil, errs.NotFound("storage pool %q not found", name)
	}

	ps.mu.RLock()
	defer ps.mu.RUnlock()
	p, ok := ps.pools[name]
	if !ok {
		return nil, errs.NotFound("storage pool %q not found", name)
	}

	return p, nil
}

// fallback is the pool of a container that no pool holds: the default pool, else the first one, else an empty
// pool that holds nothing.
func (ps *Pools) fallback() *Pool {
	all := ps.list()
	if len(all) > 0 {
		return all[0]
	}

	drv, _ := drivers.Load("dir")
	return &Pool{dir: filepath.Join(os.TempDir(), ".lxd-no-pool"), drv: drv}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// locate returns the pool holding a container (or, failing that, its snapshots or its tombstone).
func (ps *Pools) locate(name string) *Pool {
	all := ps.list()
	for _, p := range all {
		if exists(p.ContainerPath(name)) {
			return p
		}
	}

	return ps.locateSnapshots(name)
}

// locateSnapshots returns the pool holding a container's snapshots, else its storage.
func (ps *Pools) locateSnapshots(name string) *Pool {
	all := ps.list()
	for _, p := range all {
		if exists(p.snapshotsPath(name)) {
			return p
		}
	}

	for _, p := range all {
		if exists(p.ContainerPath(name)) || p.DeletedContainers()[name] {
			return p
		}
	}

	return ps.fallback()
}

// HasContainer reports whether one of the pools holds the storage of a container: on this server (in a cluster,
// this member) a look at the disk, with no database query.
func (ps *Pools) HasContainer(name string) bool {
	for _, p := range ps.list() {
		if exists(p.ContainerPath(name)) {
			return true
		}
	}

	return false
}

// PoolOf returns the name of the pool holding a container.
func (ps *Pools) PoolOf(name string) string {
	return ps.locate(name).Name()
}

// Name returns the name of the default pool.
func (ps *Pools) Name() string {
	return ps.fallback().Name()
}

// ContainerArgs describe a new container's storage.
type ContainerArgs struct {
	// Pool is the pool that holds it.
	Pool string

	// Name is the container's name.
	Name string

	// Base is the image base it is built on ("" for an empty root filesystem owned by RootUID:RootGID).
	Base    string
	RootUID int
	RootGID int

	// Size is the root disk's size= ("" for no limit).
	Size string

	// Move lets CreateContainerFrom move its source into place rather than copy it: a staging tree (a received
	// or unpacked backup) its caller discards.
	Move bool
}

// EnsureBase makes sure a base exists on a pool (see Pool.EnsureBase).
func (ps *Pools) EnsureBase(ctx context.Context, pool string, base string, unpack func(ctx context.Context, dest string) error) (bool, error) {
	p, err := ps.Get(pool)
	if err != nil {
		return false, err
	}

	return p.EnsureBase(ctx, base, unpack)
}

// CreateContainer lays out a container on its pool and applies its size.
func (ps *Pools) CreateContainer(args ContainerArgs) error {
	p, err := ps.Get(args.Pool)
	if err != nil {
		return err
	}

	err = p.CreateContainer(args.Name, args.Base, args.RootUID, args.RootGID)
	if err != nil {
		return err
	}

	return ps.applySize(p, args)
}

// CreateContainerFrom makes a container on its pool from a copy of the root filesystem src (a snapshot of it
// when both are on the same btrfs file system, src itself moved into place with args.Move where the pool allows it)
// and applies its size.
func (ps *Pools) CreateContainerFrom(args ContainerArgs, src string) error {
	p, err := ps.Get(args.Pool)
	if err != nil {
		return err
	}

	err = p.CreateContainerFrom(args.Name, src, args.Move)
	if err != nil {
		return err
	}

	return ps.applySize(p, args)
}

// applySize limits a new container's root filesystem, removing the container when that fails.
func (ps *Pools) applySize(p *Pool, args ContainerArgs) error {
	if args.Size == "" {
		return nil
	}

	size, err := ParseSize(args.Size)
	if err == nil {
		err = p.SetQuota(args.Name, size)
	}

	if err != nil {
		_ = p.DeleteContainer(args.Name)
		_ = p.RemoveTombstones(args.Name)
		return fmt.Errorf("setting the size of %q: %w", args.Name, err)
	}

	return nil
}

// SetSize applies a root disk's size= to an existing container.
func (ps *Pools) SetSize(name string, size string) error {
	n := int64(0)
	if size != "" {
		var err error
		n, err = ParseSize(size)
		if err != nil {
			return err
		}
	}

	return ps.locate(name).SetQuota(name, n)
}

// Container-level calls, each on the pool holding the container (see Pool for each).

// ContainerPath returns the directory of a container.
func (ps *Pools) ContainerPath(name string) string { return ps.locate(name).ContainerPath(name) }

// ContainerRootfs returns the root filesystem of a container.
func (ps *Pools) ContainerRootfs(name string) string { return ps.locate(name).ContainerRootfs(name) }

// ContainerUsage returns the bytes a container adds to its base.
func (ps *Pools) ContainerUsage(name string) int64 { return ps.locate(name).ContainerUsage(name) }

// Mount makes a container's root filesystem ready and returns its path.
func (ps *Pools) Mount(name string) (string, error) { return ps.locate(name).Mount(name) }

// MountTransient is Pool.MountTransient on the pool holding the container.
func (ps *Pools) MountTransient(name string) (string, error) {
	return ps.locate(name).MountTransient(name)
}

// Unmount unmounts a container's root filesystem if it is mounted.
func (ps *Pools) Unmount(name string) error { return ps.locate(name).Unmount(name) }

// IsMounted reports whether a container's root filesystem is ready.
func (ps *Pools) IsMounted(name string) bool { return ps.locate(name).IsMounted(name) }

// DeleteContainer removes a container's storage and its snapshots' storage.
func (ps *Pools) DeleteContainer(name string) error { return ps.locate(name).DeleteContainer(name) }

// ContainerBase returns the base a container is built on. While a recorded pool is unavailable, a container found
// on no pool may be on that one: that is not a missing container (ErrNotFound) but ErrBusy, so that the start's
// repair leaves its record alone.
func (ps *Pools) ContainerBase(name string) (string, error) {
	base, err := ps.locate(name).ContainerBase(name)
	if errors.Is(err, errs.ErrNotFound) && ps.hasUnavailable() {
		return "", fmt.Errorf("storage for %q may be on an unavailable storage pool: %w", name, errs.ErrBusy)
	}

	return base, err
}

// hasUnavailable reports whether a recorded pool could not be opened.
func (ps *Pools) hasUnavailable() bool {
	if ps.svc == nil {
		return false
	}

	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return len(ps.svc.failed) > 0
}

// SetAsideContainer moves a container's storage to the orphans of its pool.
func (ps *Pools) SetAsideContainer(name string) (string, error) {
	return ps.locate(name).SetAsideContainer(name)
}

// RenameContainer moves a stopped container's storage to a new name on its pool.
func (ps *Pools) RenameContainer(name string, newName string) error {
	return ps.locate(name).RenameContainer(name, newName)
}

// SnapshotPath returns the directory of a snapshot.
func (ps *Pools) SnapshotPath(name string, snap string) string {
	return ps.locateSnapshots(name).SnapshotPath(name, snap)
}

// SnapshotNames lists the snapshots stored for a container.
func (ps *Pools) SnapshotNames(name string) ([]string, error) {
	return ps.locateSnapshots(name).SnapshotNames(name)
}

// CreateSnapshot snapshots a container on its pool.
func (ps *Pools) CreateSnapshot(name string, snap string, extra func(dir string) error) error {
	return ps.locate(name).CreateSnapshot(name, snap, extra)
}

// RenameSnapshot renames one snapshot's storage.
func (ps *Pools) RenameSnapshot(name string, snap string, newSnap string) error {
	return ps.locateSnapshots(name).RenameSnapshot(name, snap, newSnap)
}

// RenameSnapshots moves a container's snapshots to a new container name.
func (ps *Pools) RenameSnapshots(name string, newName string) error {
	return ps.locateSnapshots(name).RenameSnapshots(name, newName)
}

// DeleteSnapshot removes one snapshot's storage.
func (ps *Pools) DeleteSnapshot(name string, snap string) error {
	return ps.locateSnapshots(name).DeleteSnapshot(name, snap)
}

// DeleteSnapshots removes the storage of every snapshot of a container.
func (ps *Pools) DeleteSnapshots(name string) error {
	return ps.locateSnapshots(name).DeleteSnapshots(name)
}

// RestoreSnapshot replaces a stopped container's root filesystem with a snapshot's.
func (ps *Pools) RestoreSnapshot(name string, snap string) error {
	return ps.locate(name).RestoreSnapshot(name, snap)
}

// SetAsideSnapshot moves a snapshot's storage to the orphans of its pool.
func (ps *Pools) SetAsideSnapshot(name string, snap string) (string, error) {
	return ps.locateSnapshots(name).SetAsideSnapshot(name, snap)
}

// CopySnapshot copies a snapshot of from to the pool holding to.
func (ps *Pools) CopySnapshot(from string, to string, snap string) error {
	src := ps.locateSnapshots(from)
	dst := ps.locate(to)
	if src == dst {
		return src.CopySnapshot(from, to, snap)
	}

	return dst.copySnapshotFrom(src.SnapshotPath(from, snap), to, snap)
}

// BaseRootfs returns the root filesystem of a base, on the first pool that has it.
func (ps *Pools) BaseRootfs(base string) string {
	for _, p := range ps.list() {
		if p.HasBase(base) {
			return p.BaseRootfs(base)
		}
	}

	return ps.fallback().BaseRootfs(base)
}

// Calls over every pool.

// Containers lists the containers of every pool.
func (ps *Pools) Containers() ([]string, error) {
	return ps.union(func(p *Pool) ([]string, error) { return p.Containers() })
}

// SnapshotOwners lists the containers having snapshots, on every pool.
func (ps *Pools) SnapshotOwners() ([]string, error) {
	return ps.union(func(p *Pool) ([]string, error) { return p.SnapshotOwners() })
}

// Bases lists the bases of every pool.
func (ps *Pools) Bases() ([]string, error) {
	return ps.union(func(p *Pool) ([]string, error) { return p.Bases() })
}

// union merges the names fn lists on every pool.
func (ps *Pools) union(fn func(p *Pool) ([]string, error)) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps.list() {
		names, err := fn(p)
		if err != nil {
			return nil, err
		}

		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}

	return out, nil
}

// DeleteBase removes a base from every pool having it.
func (ps *Pools) DeleteBase(base string) error {
	for _, p := range ps.list() {
		if !exists(p.basePath(base)) {
			continue
		}

		err := p.DeleteBase(base)
		if err != nil {
			return err
		}
	}

	return nil
}

// DeletedContainers lists the containers whose deletion is under way, on every pool.
func (ps *Pools) DeletedContainers() map[string]bool {
	out := map[string]bool{}
	for _, p := range ps.list() {
		for name := range p.DeletedContainers() {
			out[name] = true
		}
	}

	return out
}

// RemoveTombstones removes the tombstones of the given containers (all with none) on every pool.
func (ps *Pools) RemoveTombstones(names ...string) error {
	for _, p := range ps.list() {
		err := p.RemoveTombstones(names...)
		if err != nil {
			return err
		}
	}

	return nil
}

// Orphans lists the storage set aside on every pool.
func (ps *Pools) Orphans() ([]Orphan, error) {
	var out []Orphan
	for _, p := range ps.list() {
		o, err := p.Orphans()
		if err != nil {
			return nil, err
		}

		out = append(out, o...)
	}

	return out, nil
}

// RemoveOrphan removes storage set aside.
func (ps *Pools) RemoveOrphan(o Orphan) error {
	return removeEntombed(o.Path, "")
}

// ParseSize parses a size such as "512", "256MiB", "5GB" or "2G" into bytes.
func ParseSize(v string) (int64, error) {
	return drivers.ParseSize(v)
}

// Dir returns the directory of the default pool.
func (ps *Pools) Dir() string {
	return ps.fallback().Dir()
}

// OrphansPath returns the directory of the storage set aside on the default pool.
func (ps *Pools) OrphansPath() string {
	return ps.fallback().OrphansPath()
}
