package storage

import (
	"context"
	"fmt"
	"maps"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage/drivers"
	"github.com/lxd-go/lxd/shared/revert"
)

// ClusterPool is a storage pool of a cluster as a joining member learns it: its driver and the keys every member
// shares.
type ClusterPool struct {
	Name   string            `json:"name"`
	Driver string            `json:"driver"`
	Config map[string]string `json:"config"`
}

// SharedConfig returns the keys of config every member shares, leaving out those that belong to each member.
func SharedConfig(config map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if !db.IsPoolNodeKey(k) {
			out[k] = v
		}
	}

	return out
}

// nodeConfig returns the keys of config that belong to each member.
func nodeConfig(config map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if db.IsPoolNodeKey(k) {
			out[k] = v
		}
	}

	return out
}

// CheckJoin refuses, before anything changes, a join that would leave a pool of this server (local, as read from
// its own database) out of the cluster's, or under another driver: every pool of a member is one of the cluster's.
// A pool the cluster has and this server has not is created at the join; member gives its member keys (source and
// the like), by pool name.
func CheckJoin(local []db.StoragePool, cluster []ClusterPool, member map[string]map[string]string) error {
	byName := map[string]ClusterPool{}
	for _, p := range cluster {
		byName[p.Name] = p
	}

	for _, p := range local {
		c, ok := byName[p.Name]
		if !ok {
			return errs.Invalid("storage pool %q of this server is not one of the cluster's: delete it before joining", p.Name)
		}

		if c.Driver != p.Driver {
			return errs.Invalid("storage pool %q of this server uses driver %q, the cluster's %q", p.Name, p.Driver, c.Driver)
		}
	}

	for name, keys := range member {
		_, ok := byName[name]
		if !ok {
			return errs.Invalid("member configuration for storage pool %q, which the cluster does not have", name)
		}

		for k := range keys {
			if !db.IsPoolNodeKey(k) {
				return errs.Invalid("%q of storage pool %q is not a key each member sets", k, name)
			}
		}
	}

	return nil
}

// Join records this member's own keys of every pool of the cluster it just joined. A pool this server had (local,
// read from its own database before the join) keeps its storage and its keys; any other pool is created here with
// the member keys given for it. Run once the database is the cluster's and the member's id is set. On error the
// pools created are removed again.
func (ps *Pools) Join(ctx context.Context, local []db.StoragePool, member map[string]map[string]string) error {
	svc, err := ps.service()
	if err != nil {
		return err
	}

	had := map[string]db.StoragePool{}
	for _, p := range local {
		had[p.Name] = p
	}

	rows, err := ps.LocalPools(ctx)
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()

	opened := map[string]*Pool{}
	for _, row := range rows {
		keys := nodeConfig(had[row.Name].Config)
		_, kept := had[row.Name]
		if !kept {
			drv, err := drivers.Load(row.Driver)
			if err != nil {
				return err
			}

			row.Config = SharedConfig(row.Config)
			maps.Copy(row.Config, member[row.Name])
			err = drv.Validate(row.Config, true)
			if err != nil {
				return fmt.Errorf("storage pool %q: %w", row.Name, err)
			}

			dp := svc.driverPool(row)
			err = drv.Create(dp)
			if err != nil {
				return fmt.Errorf("creating storage pool %q on this member: %w", row.Name, err)
			}

			r.Add(func() { _ = drv.Delete(dp) })
			p, err := svc.open(db.StoragePool{Name: row.Name, Driver: row.Driver, Config: dp.Config})
			if err != nil {
				return fmt.Errorf("storage pool %q: %w", row.Name, err)
			}

			r.Add(func() { _ = drv.Unmount(dp) })
			opened[row.Name] = p
			keys = nodeConfig(dp.Config)
		}

		err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			return tx.SetStoragePoolNodeConfig(ctx, row.Name, keys)
		})
		if err != nil {
			return err
		}
	}

	ps.mu.Lock()
	maps.Copy(ps.pools, opened)
	ps.mu.Unlock()
	r.Success()
	return nil
}

// LocalPools reads the pools as the database records them for this server (in a cluster, with this member's keys).
func (ps *Pools) LocalPools(ctx context.Context) ([]db.StoragePool, error) {
	svc, err := ps.service()
	if err != nil {
		return nil, err
	}

	var rows []db.StoragePool
	err = svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		rows, err = tx.GetStoragePools(ctx)
		return err
	})
	return rows, err
}
