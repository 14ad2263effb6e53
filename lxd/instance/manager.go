package instance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/locking"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/template/tplctx"
	"github.com/lxd-go/lxd/shared/api"
)

// Volatile keys the daemon keeps on each instance.
const (
	KeyBaseImage      = "volatile.base_image"
	KeyUUID           = "volatile.uuid"
	KeyLastStatePower = "volatile.last_state.power"
	KeyIdmapBase      = "volatile.idmap.base"
	KeyIdmapNext      = "volatile.idmap.next"
	KeyLastIdmap      = "volatile.last_state.idmap"

	// KeyApplyTemplate names the templates trigger (create or copy) still to render: it is set with the row and
	// cleared once they are rendered, so that a creation cut short renders them at the next start.
	KeyApplyTemplate = "volatile.apply_template"
)

// EventSender is what the manager needs of the event server: sending the lifecycle events of what it does on its
// own (an instance stopping by itself, an expired snapshot deleted).
type EventSender interface {
	SendLifecycle(project string, ev api.EventLifecycle)
}

// ManagerArgs are the subsystems a Manager works with.
type ManagerArgs struct {
	DB     *db.DB
	Images *images.Store
	Pool   *storage.Pool
	Driver Driver

	// Pools are the storage pools by name; nil makes Pool the only one.
	Pools *storage.Pools

	// Events receives lifecycle events; nil sends none.
	Events EventSender

	// Networks attaches nics to managed networks (network=); nil refuses such nics.
	Networks Networks

	// IDMap is the map of unprivileged containers; nil makes every container privileged.
	IDMap *IDMap

	// LogDir holds one log directory per instance.
	LogDir string

	// Render renders the image template source named name with ctx into w: lxd/template.Render, injected so that
	// this package does not depend on the template engine. Required.
	Render func(w io.Writer, name string, source []byte, ctx tplctx.Context) error

	// FetchImage, when set, copies the files of an image the store does not hold from where they are (another
	// cluster member) before an instance is created from it.
	FetchImage func(ctx context.Context, fp string) error

	// Evacuated, when set, reports whether this server is an evacuated cluster member, whose instances do not start
	// with the daemon.
	Evacuated func(ctx context.Context) bool
}

// Manager creates, runs and deletes instances. Operations on one instance are serialised.
type Manager struct {
	db     *db.DB
	images *images.Store
	pool   *storage.Pools
	driver Driver
	events EventSender
	idmap  *IDMap
	logDir string
	render func(w io.Writer, name string, source []byte, ctx tplctx.Context) error
	fetch  func(ctx context.Context, fp string) error
	held   func(ctx context.Context) bool

	// networks attaches nics to managed networks; nil when the daemon has none.
	networks Networks

	// locks holds one lock per instance name.
	locks locking.Keyed

	runMu   sync.Mutex
	running map[string]*run

	// shuttingDown keeps the last power state of instances stopped by the daemon's shutdown.
	shuttingDown bool

	// boot starts instances in the background when the daemon starts.
	boot bootState
}

// run is one run of a container; done is closed once its exit has been handled.
type run struct {
	done chan struct{}

	// exited is set once the container's init has exited, before its exit is handled.
	exited atomic.Bool
}

// NewManager returns a manager over the given subsystems. It panics when args.Render is nil.
func NewManager(args ManagerArgs) *Manager {
	if args.Render == nil {
		panic("instance.NewManager: ManagerArgs.Render is nil")
	}

	if args.Pools == nil {
		args.Pools = storage.NewPools()
		if args.Pool != nil {
			args.Pools = storage.NewPools(args.Pool)
		}
	}

	return &Manager{
		db:      args.DB,
		images:  args.Images,
		pool:    args.Pools,
		driver:  args.Driver,
		events:  args.Events,
		idmap:   args.IDMap,
		logDir:  args.LogDir,
		render:  args.Render,
		fetch:   args.FetchImage,
		held:    args.Evacuated,
		running: map[string]*run{},

		networks: args.Networks,
	}
}

// Pool returns the storage pools, through which each container's storage is reached.
func (m *Manager) Pool() *storage.Pools {
	return m.pool
}

// lock takes the lock of one instance and returns its release.
func (m *Manager) lock(name string) func() {
	return m.locks.Lock(name)
}

// DefaultProfile is the profile created at first start, described as LXD describes it: without devices, as on a
// fresh LXD (lxd init adds the root disk), or with a root disk on the default pool where that pool is already
// recorded (the data of a daemon from before pools were recorded).
func DefaultProfile(withRoot bool) db.Profile {
	p := db.Profile{
		Name:        "default",
		Description: "Default LXD profile",
		Config:      map[string]string{},
		Devices:     map[string]map[string]string{},
	}

	if withRoot {
		p.Devices["root"] = map[string]string{"type": "disk", "path": "/", "pool": storage.DefaultPool}
	}

	return p
}

// Init creates the default profile when missing, follows containers still running from before, and starts the
// ones that should run (boot.autostart, or running when the daemon stopped) in the background, by
// boot.autostart.priority: it returns before they are started, and Booted reports when they are. Expired snapshots
// are then deleted every minute until ctx ends.
func (m *Manager) Init(ctx context.Context) error {
	var insts []db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProfile(ctx, "default")
		if errors.Is(err, errs.ErrNotFound) {
			_, err = tx.CreateProfile(ctx, DefaultProfile(m.pool.Has(storage.DefaultPool)))
		}

		if err != nil {
			return err
		}

		insts, err = tx.GetLocalInstances(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("initialising instances: %w", err)
	}

	insts, err = m.reconcile(ctx, insts)
	if err != nil {
		return fmt.Errorf("reconciling instances with their storage: %w", err)
	}

	// Bases whose image went while the daemon was down, or whose pruning a crash cut short.
	err = m.PruneBases(ctx)
	if err != nil {
		slog.Warn("failed pruning image bases", "err", err)
	}

	var boot []bootEntry
	for _, inst := range insts {
		m.thawSnapshotFreeze(ctx, &inst)
		if m.driver.Status(inst.Name) != api.Stopped {
			m.follow(inst.Name)
			continue
		}

		m.finishRestore(ctx, &inst)

		// A daemon that died left the nic state of its running containers.
		m.stoppedNICs(ctx, inst.Name)

		// A daemon that died may have left the root of a stopped instance mounted.
		err = m.pool.Unmount(inst.Name)
		if err != nil {
			slog.Warn("failed unmounting the root of a stopped instance", "instance", inst.Name, "err", err)
		}

		expanded, _, err := m.expand(ctx, &inst)
		if err != nil {
			slog.Error("failed reading the configuration of an instance, not starting it", "instance", inst.Name, "err", err)
			continue
		}

		if shouldAutostart(expanded) {
			boot = append(boot, bootEntry{name: inst.Name, priority: configInt(expanded, KeyBootAutostartPriority)})
		}
	}

	// An evacuated member keeps its instances stopped until it is restored.
	if m.held != nil && m.held(ctx) && len(boot) > 0 {
		slog.Info("not starting the instances of an evacuated cluster member", "count", len(boot))
		boot = nil
	}

	m.startBoot(ctx, boot)
	go m.pruneSnapshotsLoop(ctx)
	return nil
}

// reconcile makes instance records and storage match again after a crash, and returns the instances kept.
//
// Rows are written before storage when creating; deleting renames the storage (with its snapshots') to a tombstone,
// empties it, removes the row, then the tombstone; a rename renames the row, then the storage, then the snapshots' storage. So after a
// crash:
//   - orphans set aside by an earlier start whose owner (instance row, or snapshot row for a snapshot) is still
//     gone are removed;
//   - a row whose storage is missing is removed with its snapshots, driver files and logs: with a tombstone of its
//     storage, the delete is finished ("finishing an interrupted delete"); without, it is a creation or a copy
//     that did not finish, or storage removed outside the daemon, and the log says which;
//   - storage without a row is the old name of an interrupted rename: when exactly one row lacks storage and
//     exactly one storage lacks a row, the rename is completed; otherwise the storage is set aside in the pool's
//     orphans directory, removed at a later start if its owner is still gone;
//   - snapshot storage under a name no instance has is completed the same way when it pairs with exactly one
//     instance whose snapshots have no storage at all, and is set aside otherwise;
//   - snapshots are reconciled per instance (reconcileSnapshots);
//   - tombstones are removed last.
//
// A running instance is never touched.
func (m *Manager) reconcile(ctx context.Context, insts []db.Instance) ([]db.Instance, error) {
	disjoint, err := m.disjointFromPool(insts)
	if err != nil {
		return nil, err
	}

	if disjoint != "" {
		slog.Error("instance records and storage left as they are: "+disjoint, "pool", m.pool.Name())
		return insts, nil
	}

	err = m.pruneOrphans(ctx, insts)
	if err != nil {
		return nil, err
	}

	deleted := m.pool.DeletedContainers()
	kept := make([]db.Instance, 0, len(insts))
	owned := map[string]bool{}
	var missing, interrupted []db.Instance
	for _, inst := range insts {
		_, err := m.pool.ContainerBase(inst.Name)
		if err == nil || !errors.Is(err, errs.ErrNotFound) || m.driver.Status(inst.Name) != api.Stopped {
			kept = append(kept, inst)
			owned[inst.Name] = true
			continue
		}

		if deleted[inst.Name] {
			interrupted = append(interrupted, inst)
			continue
		}

		missing = append(missing, inst)
	}

	names, err := m.pool.Containers()
	if err != nil {
		return nil, err
	}

	var unowned []string
	for _, name := range names {
		if !owned[name] {
			unowned = append(unowned, name)
		}
	}

	if len(missing) == 1 && len(unowned) == 1 {
		from, to := unowned[0], missing[0].Name
		slog.Warn("completing an interrupted rename", "from", from, "to", to)
		err = m.pool.RenameContainer(from, to)
		if err != nil {
			return nil, err
		}

		err = m.pool.RenameSnapshots(from, to)
		if err != nil {
			return nil, err
		}

		_ = os.Rename(filepath.Join(m.logDir, from), filepath.Join(m.logDir, to))
		kept = append(kept, missing[0])
		owned[to] = true
		missing, unowned = nil, nil
	}

	for _, inst := range interrupted {
		slog.Warn("finishing an interrupted delete", "instance", inst.Name)
		err = m.removeUnfinished(ctx, inst.Name)
		if err != nil {
			return nil, err
		}
	}

	for _, inst := range missing {
		if inst.Config[KeyApplyTemplate] != "" {
			slog.Warn("removing an instance whose creation did not finish", "instance", inst.Name)
		} else {
			slog.Error("removing an instance that has no storage: its creation did not finish or its storage was removed outside the daemon", "instance", inst.Name)
		}

		err = m.removeUnfinished(ctx, inst.Name)
		if err != nil {
			return nil, err
		}
	}

	for _, name := range unowned {
		dest, err := m.pool.SetAsideContainer(name)
		if err != nil {
			return nil, err
		}

		slog.Warn("set aside the storage of an instance that has no record", "instance", name, "path", dest)
	}

	err = m.reconcileSnapshotOwners(ctx, kept, owned)
	if err != nil {
		return nil, err
	}

	for _, inst := range kept {
		err = m.reconcileSnapshots(ctx, inst.Name)
		if err != nil {
			return nil, err
		}
	}

	for name := range deleted {
		slog.Warn("finishing the removal of the storage of a deleted instance", "instance", name)
	}

	err = m.pool.RemoveTombstones()
	if err != nil {
		return nil, err
	}

	return kept, nil
}

// disjointFromPool says why the instance records and the pool's storage share nothing a crash could explain, or ""
// when they do: records are written before storage and storage is removed through tombstones, so a crash never
// leaves a pool of containers without any record, nor several finished instances without their storage and without
// a tombstone. That is a lost or replaced database, or a pool that is not mounted, and reconciling it would remove
// data that is only out of reach.
func (m *Manager) disjointFromPool(insts []db.Instance) (string, error) {
	names, err := m.pool.Containers()
	if err != nil {
		return "", err
	}

	if len(insts) == 0 && len(names) > 0 {
		return fmt.Sprintf("the pool holds %d containers and the database records no instance (a lost or replaced database?)", len(names)), nil
	}

	if len(names) > 0 || len(m.pool.DeletedContainers()) > 0 {
		return "", nil
	}

	finished := 0
	for _, inst := range insts {
		if inst.Config[KeyApplyTemplate] == "" && m.driver.Status(inst.Name) == api.Stopped {
			finished++
		}
	}

	if finished > 1 {
		return fmt.Sprintf("%d instances are recorded and the pool holds no container storage (is the pool's file system mounted?)", finished), nil
	}

	return "", nil
}

// pruneOrphans removes the entries of the pool's orphans directory whose owner is gone: the instance row of a
// container's storage, the snapshot row of a snapshot's. It runs before this start sets anything aside, so that
// what is set aside stays for one run of the daemon, for an administrator to look at.
func (m *Manager) pruneOrphans(ctx context.Context, insts []db.Instance) error {
	orphans, err := m.pool.Orphans()
	if err != nil || len(orphans) == 0 {
		return err
	}

	rows := map[string]bool{}
	for _, inst := range insts {
		rows[inst.Name] = true
	}

	for _, o := range orphans {
		owned := rows[o.Instance]
		if owned && o.Snapshot != "" {
			_, err = m.loadSnapshot(ctx, o.Instance, o.Snapshot)
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}

			owned = err == nil
		}

		if owned {
			continue
		}

		slog.Warn("removing set-aside storage whose owner is gone", "path", o.Path, "instance", o.Instance, "snapshot", o.Snapshot)
		err = m.pool.RemoveOrphan(o)
		if err != nil {
			return err
		}
	}

	return nil
}

// thawSnapshotFreeze undoes the freeze of a snapshot a crash interrupted: an instance whose row records that the
// daemon froze it for a snapshot (KeySnapshotFreeze) is thawed if still frozen, and the record is cleared. An
// instance a user paused has no record and stays frozen.
func (m *Manager) thawSnapshotFreeze(ctx context.Context, inst *db.Instance) {
	snap := inst.Config[KeySnapshotFreeze]
	if snap == "" {
		return
	}

	if m.driver.Status(inst.Name) == api.Frozen {
		slog.Warn("resuming an instance frozen for a snapshot that a crash interrupted", "instance", inst.Name, "snapshot", snap)
		err := m.driver.Unfreeze(inst.Name)
		if err != nil {
			slog.Error("failed resuming an instance frozen for a snapshot", "instance", inst.Name, "err", err)
			return
		}
	}

	m.setVolatile(ctx, inst.Name, map[string]string{KeySnapshotFreeze: ""})
	delete(inst.Config, KeySnapshotFreeze)
}

// finishRestore does again the restore of a stopped instance to a snapshot that a crash interrupted (its row still
// records it, KeyRestoring). A restore that cannot be done again is logged as an error and its record cleared: the
// instance keeps either its old or the snapshot's root filesystem whole, with its old configuration.
func (m *Manager) finishRestore(ctx context.Context, inst *db.Instance) {
	snap := inst.Config[KeyRestoring]
	if snap == "" {
		return
	}

	slog.Warn("completing an interrupted restore", "instance", inst.Name, "snapshot", snap)
	unlock := m.lock(inst.Name)
	defer unlock()
	err := m.restoreLocked(ctx, inst.Name, snap)
	if err != nil {
		slog.Error("failed completing an interrupted restore", "instance", inst.Name, "snapshot", snap, "err", err)
		m.setVolatile(ctx, inst.Name, map[string]string{KeyRestoring: ""})
	}

	fresh, err := m.load(ctx, inst.Name)
	if err == nil {
		*inst = *fresh
	}
}

// reconcileSnapshotOwners deals with snapshot storage kept under a name no instance has: it completes an
// interrupted rename of the snapshots when it pairs with exactly one instance whose snapshot rows have no storage
// at all, and sets the rest aside.
func (m *Manager) reconcileSnapshotOwners(ctx context.Context, kept []db.Instance, owned map[string]bool) error {
	owners, err := m.pool.SnapshotOwners()
	if err != nil {
		return err
	}

	var unowned []string
	for _, name := range owners {
		if !owned[name] {
			unowned = append(unowned, name)
		}
	}

	if len(unowned) == 0 {
		return nil
	}

	var bare []string
	for _, inst := range kept {
		var rows []db.Snapshot
		err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			var err error
			rows, err = tx.GetSnapshots(ctx, inst.Name)
			return err
		})
		if err != nil {
			return err
		}

		stored, err := m.pool.SnapshotNames(inst.Name)
		if err != nil {
			return err
		}

		if len(rows) > 0 && len(stored) == 0 {
			bare = append(bare, inst.Name)
		}
	}

	if len(unowned) == 1 && len(bare) == 1 {
		slog.Warn("completing an interrupted rename of snapshots", "from", unowned[0], "to", bare[0])
		return m.pool.RenameSnapshots(unowned[0], bare[0])
	}

	for _, name := range unowned {
		snaps, err := m.pool.SnapshotNames(name)
		if err != nil {
			return err
		}

		for _, snap := range snaps {
			dest, err := m.pool.SetAsideSnapshot(name, snap)
			if err != nil {
				return err
			}

			slog.Warn("set aside a snapshot whose instance has no record", "instance", name, "snapshot", snap, "path", dest)
		}
	}

	return nil
}

// removeUnfinished removes what an interrupted creation of an instance left: row, snapshots, driver files, logs.
func (m *Manager) removeUnfinished(ctx context.Context, name string) error {
	// The DHCP host entries of its nics, recorded at creation, go with it.
	var devices map[string]map[string]string
	inst, err := m.load(ctx, name)
	if err == nil {
		_, devices, _ = m.expand(ctx, inst)
	}

	err = m.pool.DeleteContainer(name)
	if err != nil {
		return err
	}

	err = m.pool.DeleteSnapshots(name)
	if err != nil {
		return err
	}

	err = m.driver.Cleanup(name)
	if err != nil {
		return err
	}

	_ = os.RemoveAll(filepath.Join(m.logDir, name))
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteInstance(ctx, name)
	})
	if err != nil {
		return err
	}

	m.deleteNICs(ctx, name, devices)
	return nil
}

// reconcileSnapshots makes the snapshot rows of an instance and their storage match. Snapshot rows are written
// before storage when snapshotting, removed before storage when deleting, and storage (complete, renamed into
// place) is written before rows when copying; a rename renames the row, then the storage. So a crash leaves at
// most one of these per instance:
//   - one row without storage and one storage without a row: an interrupted rename, completed;
//   - a row without storage: a snapshot whose copy did not finish, removed;
//   - storage without a row: a delete (or the copy of an instance's snapshots) that did not finish, removed.
func (m *Manager) reconcileSnapshots(ctx context.Context, name string) error {
	var rows []db.Snapshot
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		rows, err = tx.GetSnapshots(ctx, name)
		return err
	})
	if err != nil {
		return err
	}

	stored, err := m.pool.SnapshotNames(name)
	if err != nil {
		return err
	}

	onDisk := map[string]bool{}
	for _, snap := range stored {
		onDisk[snap] = true
	}

	recorded := map[string]bool{}
	var missing, unrecorded []string
	for _, row := range rows {
		recorded[row.Name] = true
		if !onDisk[row.Name] {
			missing = append(missing, row.Name)
		}
	}

	for _, snap := range stored {
		if !recorded[snap] {
			unrecorded = append(unrecorded, snap)
		}
	}

	if len(missing) == 1 && len(unrecorded) == 1 {
		slog.Warn("completing an interrupted rename of a snapshot", "instance", name, "from", unrecorded[0], "to", missing[0])
		return m.pool.RenameSnapshot(name, unrecorded[0], missing[0])
	}

	for _, snap := range missing {
		slog.Warn("removing a snapshot whose creation did not finish", "instance", name, "snapshot", snap)
		err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteSnapshot(ctx, name, snap)
		})
		if err != nil {
			return err
		}
	}

	for _, snap := range unrecorded {
		slog.Warn("finishing the removal of a snapshot that has no record", "instance", name, "snapshot", snap)
		err = m.pool.DeleteSnapshot(name, snap)
		if err != nil {
			return err
		}
	}

	return nil
}

// Shutdown stops every running container for the daemon's stop, keeping their last power state so they start
// again with the daemon: the starts still to come after the daemon's start are cancelled (the one under way
// finishes), then containers stop by boot.stop.priority, higher first, each given its boot.host_shutdown_timeout
// (timeout when unset) to stop cleanly before it is killed.
func (m *Manager) Shutdown(ctx context.Context, timeout time.Duration) {
	m.stopBoot()
	m.runMu.Lock()
	m.shuttingDown = true
	names := make([]string, 0, len(m.running))
	for name := range m.running {
		names = append(names, name)
	}

	m.runMu.Unlock()
	m.shutdownAll(ctx, names, timeout)
}

func loadProfiles(ctx context.Context, tx *db.Tx, names []string) ([]Profile, error) {
	out := make([]Profile, 0, len(names))
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, errs.Invalid("profile %q is listed twice", name)
		}

		seen[name] = true
		p, err := tx.GetProfile(ctx, name)
		if errors.Is(err, errs.ErrNotFound) {
			return nil, errs.NotFound("profile %q not found", name)
		}

		if err != nil {
			return nil, err
		}

		out = append(out, Profile{Name: p.Name, Config: p.Config, Devices: p.Devices})
	}

	return out, nil
}

// expand returns an instance's expanded configuration and devices.
func (m *Manager) expand(ctx context.Context, inst *db.Instance) (map[string]string, map[string]map[string]string, error) {
	var profiles []Profile
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, inst.Profiles)
		return err
	})
	if err != nil {
		return nil, nil, err
	}

	config, devices := Expand(profiles, inst.Config, inst.Devices)
	return config, devices, nil
}

// privileged reports whether an expanded configuration runs privileged.
func (m *Manager) privileged(config map[string]string) bool {
	return m.idmap == nil || IsTrue(config["security.privileged"])
}

// newUUID returns a random UUID (version 4).
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// load reads one instance row.
func (m *Manager) load(ctx context.Context, name string) (*db.Instance, error) {
	var inst *db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		inst, err = tx.GetInstance(ctx, name)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.NotFound("instance %q not found", name)
	}

	return inst, err
}

// Exists reports whether an instance exists, as an error of class errs.ErrNotFound when it does not.
func (m *Manager) Exists(ctx context.Context, name string) error {
	_, err := m.load(ctx, name)
	return err
}

// setVolatile stores volatile keys of an instance.
func (m *Manager) setVolatile(ctx context.Context, name string, changes map[string]string) {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, changes)
	})
	if err != nil {
		slog.Error("failed recording instance state", "instance", name, "err", err)
	}
}

// URL is the API path of an instance key, with its project.
func URL(key string) string {
	return project.InstanceURL(key)
}

// ErrNotRunning is returned when an action needs a running instance.
var ErrNotRunning = errs.Invalid("the instance is not running")
