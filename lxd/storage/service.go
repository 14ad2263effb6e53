package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage/drivers"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// OpenArgs are what OpenPools needs.
type OpenArgs struct {
	DB *db.DB

	// PoolsDir holds the pools' mount points ($LXD_DIR/storage-pools).
	PoolsDir string

	// DisksDir holds the loop files of loop-backed pools ($LXD_DIR/disks).
	DisksDir string

	// DefaultSource, when set, is the directory of a dir pool "default" recorded when no pool is. Left empty, a
	// pool is recorded only for the data of a daemon from before pools were recorded.
	DefaultSource string

	// Warn, when set, records a condition of a pool an operator should see (a daemon warning about the pool). It
	// is called from storage changes that may hold a database transaction, so it must not wait for one.
	Warn func(pool string, message string)
}

// service keeps the pools' records and drives their drivers.
type service struct {
	db       *db.DB
	poolsDir string
	disksDir string
	warn     func(pool string, message string)

	// failed holds the pools that could not be opened, with the reason (under Pools.mu).
	failed map[string]error
}

// OpenPools opens every pool recorded in the database. A first start records no pool, as LXD's (lxd init or
// "lxc storage create" makes one); with no pool recorded but instances or containers in the default pool's
// directory (a daemon from before pools were recorded), it records that directory as the dir pool "default". A
// pool left pending by a crash during its creation is removed; one that cannot be mounted stays recorded,
// unavailable.
func OpenPools(ctx context.Context, args OpenArgs) (*Pools, error) {
	svc := &service{db: args.DB, poolsDir: args.PoolsDir, disksDir: args.DisksDir, warn: args.Warn,
		failed: map[string]error{}}
	ps := &Pools{poolSet: &poolSet{pools: map[string]*Pool{}, svc: svc}}

	var rows []db.StoragePool
	err := args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		rows, err = tx.GetStoragePools(ctx)
		if err != nil || len(rows) > 0 {
			return err
		}

		src := args.DefaultSource
		if src == "" {
			src = filepath.Join(args.PoolsDir, DefaultPool)
			insts, err := tx.GetLocalInstances(ctx)
			if err != nil {
				return err
			}

			if len(insts) == 0 && !exists(filepath.Join(src, "containers")) {
				return nil
			}
		}

		err = os.MkdirAll(src, 0o711)
		if err != nil {
			return err
		}

		row := db.StoragePool{Name: DefaultPool, Driver: "dir", State: db.StoragePoolCreated,
			Config: map[string]string{"source": src}}
		_, err = tx.CreateStoragePool(ctx, row)
		rows = append(rows, row)
		return err
	})
	if err != nil {
		return nil, err
	}

	for _, row := range rows {
		if row.State == db.StoragePoolPending {
			slog.Warn("removing a storage pool whose creation was cut short", "pool", row.Name)
			err = ps.removePending(ctx, row)
			if err != nil {
				slog.Error("failed removing a storage pool left pending", "pool", row.Name, "err", err)
			}

			continue
		}

		p, err := svc.open(row)
		if err != nil {
			slog.Error("storage pool unavailable", "pool", row.Name, "err", err)
			svc.failed[row.Name] = err
			continue
		}

		ps.pools[row.Name] = p
	}

	return ps, nil
}

// driverPool is the driver's view of a pool row.
func (s *service) driverPool(row db.StoragePool) *drivers.Pool {
	config := maps.Clone(row.Config)
	if config == nil {
		config = map[string]string{}
	}

	dp := &drivers.Pool{Name: row.Name, Config: config, MountPath: filepath.Join(s.poolsDir, row.Name),
		DisksDir: s.disksDir}
	if s.warn != nil {
		name := row.Name
		dp.Warn = func(message string) { s.warn(name, message) }
	}

	return dp
}

// open mounts a pool and opens its volumes.
func (s *service) open(row db.StoragePool) (*Pool, error) {
	drv, err := drivers.Load(row.Driver)
	if err != nil {
		return nil, err
	}

	dir, err := drv.Mount(s.driverPool(row))
	if err != nil {
		return nil, err
	}

	return openPool(row.Name, drv, dir)
}

// removePending undoes what the creation of a pool may have done, then its row.
func (ps *Pools) removePending(ctx context.Context, row db.StoragePool) error {
	drv, err := drivers.Load(row.Driver)
	if err == nil {
		err = drv.Delete(ps.svc.driverPool(row))
	}

	if err != nil {
		return err
	}

	return ps.svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteStoragePool(ctx, row.Name)
	})
}

// Drivers lists the drivers of this server, with their versions.
func Drivers() []api.ServerStorageDriverInfo {
	var out []api.ServerStorageDriverInfo
	for _, name := range drivers.Names() {
		drv, _ := drivers.Load(name)
		out = append(out, api.ServerStorageDriverInfo{Name: name, Version: drv.Version(), Remote: false})
	}

	return out
}

// DriversInUse lists the drivers of the server's pools, each once in the order of the pools, with their versions.
func (ps *Pools) DriversInUse(ctx context.Context) ([]api.ServerStorageDriverInfo, error) {
	rows, err := ps.LocalPools(ctx)
	if err != nil {
		return nil, err
	}

	all := Drivers()
	var out []api.ServerStorageDriverInfo
	for _, row := range rows {
		if slices.ContainsFunc(out, func(d api.ServerStorageDriverInfo) bool { return d.Name == row.Driver }) {
			continue
		}

		i := slices.IndexFunc(all, func(d api.ServerStorageDriverInfo) bool { return d.Name == row.Driver })
		if i >= 0 {
			out = append(out, all[i])
		}
	}

	return out, nil
}

// service returns what manages the pools' records, refusing when there is none.
func (ps *Pools) service() (*service, error) {
	if ps == nil || ps.svc == nil {
		return nil, errs.Unsupported("storage pools cannot be managed here")
	}

	return ps.svc, nil
}

// List returns every pool.
func (ps *Pools) List(ctx context.Context) ([]api.StoragePool, error) {
	svc, err := ps.service()
	if err != nil {
		return nil, err
	}

	var rows []db.StoragePool
	uses := map[string][]db.DeviceUse{}
	err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		rows, err = tx.GetStoragePools(ctx)
		if err != nil {
			return err
		}

		for _, row := range rows {
			uses[row.Name], err = tx.GetStoragePoolDeviceUses(ctx, row.Name)
			if err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]api.StoragePool, 0, len(rows))
	for _, row := range rows {
		out = append(out, ps.toAPI(row, uses[row.Name]))
	}

	return out, nil
}

// GetPool returns one pool.
func (ps *Pools) GetPool(ctx context.Context, name string) (*api.StoragePool, error) {
	svc, err := ps.service()
	if err != nil {
		return nil, err
	}

	var row *db.StoragePool
	var uses []db.DeviceUse
	err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err = tx.GetStoragePool(ctx, name)
		if err != nil {
			return err
		}

		uses, err = tx.GetStoragePoolDeviceUses(ctx, name)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := ps.toAPI(*row, uses)
	return &out, nil
}

// toAPI renders a pool record with its status and users.
func (ps *Pools) toAPI(row db.StoragePool, uses []db.DeviceUse) api.StoragePool {
	status := api.StoragePoolStatusCreated
	switch {
	case row.State == db.StoragePoolPending:
		status = api.StoragePoolStatusPending
	case row.State == db.StoragePoolErrored:
		status = api.StoragePoolStatusErrored
	case !ps.Has(row.Name):
		status = api.StoragePoolStatusUnvailable
	}

	config := row.Config
	if config == nil {
		config = map[string]string{}
	}

	return api.StoragePool{
		StoragePoolPut: api.StoragePoolPut{Config: config, Description: row.Description},
		Name:           row.Name,
		Driver:         row.Driver,
		UsedBy:         ps.usedBy(row.Name, uses),
		Status:         status,
		Locations:      []string{"none"},
	}
}

// usedBy lists the URLs of the profiles whose disks name the pool and of the instances stored on it or whose own
// disks name it.
func (ps *Pools) usedBy(name string, uses []db.DeviceUse) []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(url string) {
		if !seen[url] {
			seen[url] = true
			out = append(out, url)
		}
	}

	for _, u := range uses {
		if u.Owner == "profile" {
			add(project.ProfileURL(u.Name))
		}
	}

	for _, url := range ps.volumeUsers(name) {
		add(url)
	}

	var insts []string
	for _, u := range uses {
		if u.Owner == "instance" {
			insts = append(insts, u.Name)
		}
	}

	p, err := ps.Get(name)
	if err == nil {
		names, _ := p.Containers()
		insts = append(insts, names...)
	}

	sort.Strings(insts)
	for _, n := range insts {
		add(project.InstanceURL(n))
	}

	return out
}

// Create creates a pool: its record (pending), its storage, then the record created. On failure nothing is
// left, and a crash leaves a pending record that the next start removes with what was made.
func (ps *Pools) Create(ctx context.Context, req api.StoragePoolsPost) error {
	svc, err := ps.service()
	if err != nil {
		return err
	}

	err = ValidateName(req.Name)
	if err != nil {
		return err
	}

	drv, err := drivers.Load(req.Driver)
	if err != nil {
		return err
	}

	config := maps.Clone(req.Config)
	if config == nil {
		config = map[string]string{}
	}

	err = drv.Validate(config, true)
	if err != nil {
		return err
	}

	row := db.StoragePool{Name: req.Name, Driver: req.Driver, Description: req.Description, Config: config}
	err = ps.checkSource(ctx, row, drv)
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()

	err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateStoragePool(ctx, row)
		return err
	})
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = svc.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteStoragePool(ctx, row.Name)
		})
	})

	dp := svc.driverPool(row)
	err = drv.Create(dp)
	if err != nil {
		return err
	}

	CrashPoint("storage-pool-created")
	r.Add(func() { _ = drv.Delete(dp) })
	row.Config = dp.Config
	p, err := svc.open(row)
	if err != nil {
		return err
	}

	r.Add(func() { _ = drv.Unmount(dp) })
	err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.UpdateStoragePool(ctx, row.Name, row.Description, row.Config)
		if err != nil {
			return err
		}

		return tx.SetStoragePoolState(ctx, row.Name, db.StoragePoolCreated)
	})
	if err != nil {
		return err
	}

	ps.mu.Lock()
	ps.pools[row.Name] = p
	ps.mu.Unlock()
	r.Success()
	return nil
}

// checkSource refuses a source= that another pool uses.
func (ps *Pools) checkSource(ctx context.Context, row db.StoragePool, drv drivers.Driver) error {
	src := row.Config["source"]
	if src == "" {
		return nil
	}

	if filepath.Clean(src) == filepath.Clean(ps.svc.poolsDir) || filepath.Clean(filepath.Dir(src)) == filepath.Clean(ps.svc.poolsDir) {
		return errs.Invalid("source %q is inside the daemon's pool directory", src)
	}

	pools, err := ps.List(ctx)
	if err != nil {
		return err
	}

	for _, p := range pools {
		if filepath.Clean(p.Config["source"]) == filepath.Clean(src) {
			return errs.Conflict("source %q is used by storage pool %q", src, p.Name)
		}
	}

	return nil
}

// ValidateName checks a pool name.
func ValidateName(name string) error {
	if name == "" {
		return errs.Invalid("no storage pool name given")
	}

	if name == "." || name == ".." || filepath.Base(name) != name || name[0] == '-' || len(name) > 64 {
		return errs.Invalid("invalid storage pool name %q", name)
	}

	for _, c := range name {
		if c <= ' ' || c == '/' || c == '\\' || c == '"' || c == '\'' || c == '$' {
			return errs.Invalid("invalid storage pool name %q", name)
		}
	}

	return nil
}

// Update replaces a pool's description and configuration; source, size and the driver cannot change.
func (ps *Pools) Update(ctx context.Context, name string, put api.StoragePoolPut) error {
	svc, err := ps.service()
	if err != nil {
		return err
	}

	return svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := tx.GetStoragePool(ctx, name)
		if err != nil {
			return err
		}

		drv, err := drivers.Load(row.Driver)
		if err != nil {
			return err
		}

		config := maps.Clone(put.Config)
		if config == nil {
			config = map[string]string{}
		}

		for _, k := range []string{"source", "size"} {
			old, had := row.Config[k]
			v, has := config[k]
			if !has && had {
				config[k] = old
				continue
			}

			if v != old {
				return errs.Invalid("the %q key of a storage pool cannot be changed", k)
			}
		}

		err = drv.Validate(config, false)
		if err != nil {
			return err
		}

		err = tx.UpdateStoragePool(ctx, name, put.Description, config)
		if err != nil {
			return err
		}

		// Applied last: an error rolls the record back.
		return drv.Update(svc.driverPool(db.StoragePool{Name: name, Config: config}), row.Config)
	})
}

// Delete removes an unused pool: its storage, then its record. A pool still used by an instance or a profile is
// refused, naming them.
func (ps *Pools) Delete(ctx context.Context, name string) error {
	pool, err := ps.GetPool(ctx, name)
	if err != nil {
		return err
	}

	if len(pool.UsedBy) > 0 {
		return errs.Invalid("the storage pool %q is currently in use by %s", name, strings.Join(pool.UsedBy, ", "))
	}

	// Closed first, so that no new container lands on it, then checked again for one made meanwhile.
	ps.mu.Lock()
	p := ps.pools[name]
	delete(ps.pools, name)
	ps.mu.Unlock()

	r := revert.New()
	defer r.Fail()
	if p != nil {
		r.Add(func() {
			ps.mu.Lock()
			ps.pools[name] = p
			ps.mu.Unlock()
		})

		names, err := p.Containers()
		if err != nil {
			return err
		}

		if len(names) > 0 || len(p.DeletedContainers()) > 0 {
			return errs.Invalid("the storage pool %q is currently in use by instances %s", name, strings.Join(names, ", "))
		}

		err = p.removeVolumes()
		if err != nil {
			return err
		}
	}

	drv, err := drivers.Load(pool.Driver)
	if err != nil {
		return err
	}

	row := db.StoragePool{Name: name, Config: pool.Config}
	err = drv.Delete(ps.svc.driverPool(row))
	if err != nil {
		return err
	}

	CrashPoint("storage-pool-deleted")
	err = ps.svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteStoragePool(ctx, name)
	})
	if err != nil {
		return err
	}

	ps.mu.Lock()
	delete(ps.svc.failed, name)
	ps.mu.Unlock()

	r.Success()
	return nil
}

// Resources returns the space and inodes of a pool's file system.
func (ps *Pools) Resources(name string) (*api.ResourcesStoragePool, error) {
	p, err := ps.Get(name)
	if err != nil {
		return nil, err
	}

	var st unix.Statfs_t
	err = unix.Statfs(p.Dir(), &st)
	if err != nil {
		return nil, fmt.Errorf("storage pool %q: %w", name, err)
	}

	bsize := uint64(st.Bsize)
	return &api.ResourcesStoragePool{
		Space:  api.ResourcesStoragePoolSpace{Used: (st.Blocks - st.Bfree) * bsize, Total: st.Blocks * bsize},
		Inodes: api.ResourcesStoragePoolInodes{Used: st.Files - st.Ffree, Total: st.Files},
	}, nil
}

// removeVolumes removes what the pool holds (image bases, leftovers) and its layout directories.
func (p *Pool) removeVolumes() error {
	for _, sub := range []string{"containers", "containers-snapshots", "images", "orphans", customDir, customSnapshotDir} {
		path := filepath.Join(p.dir, sub)
		err := removeTree(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the %s of pool %q: %w", sub, p.name, err)
		}
	}

	return nil
}
