package db

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Storage pool states, as the storage_pools table stores them.
const (
	StoragePoolPending = "pending"
	StoragePoolCreated = "created"
	StoragePoolErrored = "errored"
)

// StoragePool is a storage pool row with its configuration.
type StoragePool struct {
	ID          int64
	Name        string
	Driver      string
	Description string
	State       string
	Config      map[string]string
}

// StoragePoolNodeKeys are the pool keys whose value belongs to each cluster member (LXD's): where the pool's data
// lives on that member. The other keys apply to every member.
var StoragePoolNodeKeys = []string{"size", "source", "volatile.initial_source", "zfs.pool_name", "lvm.thinpool_name", "lvm.vg_name"}

// IsPoolNodeKey reports whether key belongs to each member.
func IsPoolNodeKey(key string) bool {
	return slices.Contains(StoragePoolNodeKeys, key)
}

func storagePoolNotFound(name string) error {
	return fmt.Errorf("storage pool %q: %w", name, errs.ErrNotFound)
}

// GetStoragePools returns every storage pool, by name.
func (t *Tx) GetStoragePools(ctx context.Context) ([]StoragePool, error) {
	return t.scanStoragePools(ctx, "1")
}

// GetStoragePool returns one storage pool.
func (t *Tx) GetStoragePool(ctx context.Context, name string) (*StoragePool, error) {
	pools, err := t.scanStoragePools(ctx, "name = ?", name)
	if err != nil {
		return nil, err
	}

	if len(pools) == 0 {
		return nil, storagePoolNotFound(name)
	}

	return &pools[0], nil
}

func (t *Tx) scanStoragePools(ctx context.Context, where string, args ...any) ([]StoragePool, error) {
	rows, err := t.query(ctx, "SELECT id, name, driver, description, state FROM storage_pools WHERE "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading storage pools: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []StoragePool
	for rows.Next() {
		p := StoragePool{}
		err = rows.Scan(&p.ID, &p.Name, &p.Driver, &p.Description, &p.State)
		if err != nil {
			return nil, fmt.Errorf("loading storage pools: %w", err)
		}

		out = append(out, p)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading storage pools: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadPoolConfig(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

// CreateStoragePool adds a pool in the state p.State (pending when empty); an existing name wraps errs.ErrConflict.
func (t *Tx) CreateStoragePool(ctx context.Context, p StoragePool) (int64, error) {
	if p.State == "" {
		p.State = StoragePoolPending
	}

	res, err := t.exec(ctx, "INSERT INTO storage_pools (name, driver, description, state) VALUES (?, ?, ?, ?)",
		p.Name, p.Driver, p.Description, p.State)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("storage pool %q already exists: %w", p.Name, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating storage pool %q: %w", p.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.replacePoolConfig(ctx, id, p.Config)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// SetStoragePoolState changes the state of a pool (pending, created or errored).
func (t *Tx) SetStoragePoolState(ctx context.Context, name string, state string) error {
	n, err := t.execCount(ctx, "UPDATE storage_pools SET state = ? WHERE name = ?", state, name)
	if err != nil {
		return fmt.Errorf("updating storage pool %q: %w", name, err)
	}

	if n == 0 {
		return storagePoolNotFound(name)
	}

	return nil
}

// UpdateStoragePool replaces the description and configuration of a pool.
func (t *Tx) UpdateStoragePool(ctx context.Context, name string, description string, config map[string]string) error {
	id, err := t.lookupID(ctx, storagePoolNotFound(name), "SELECT id FROM storage_pools WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE storage_pools SET description = ? WHERE id = ?", description, id)
	if err != nil {
		return fmt.Errorf("updating storage pool %q: %w", name, err)
	}

	return t.replacePoolConfig(ctx, id, config)
}

// DeleteStoragePool removes a pool and its configuration.
func (t *Tx) DeleteStoragePool(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM storage_pools WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting storage pool %q: %w", name, err)
	}

	if n == 0 {
		return storagePoolNotFound(name)
	}

	return nil
}

// storagePoolDeviceQueries select, for instances and profiles, the disk devices whose pool key is the argument.
var storagePoolDeviceQueries = []deviceUseQuery{
	{"instance", `SELECT instances.name, d.device FROM instances_devices d
JOIN instances ON instances.id = d.instance_id
WHERE d.key = 'pool' AND d.value = ? AND EXISTS (SELECT 1 FROM instances_devices t
  WHERE t.instance_id = d.instance_id AND t.device = d.device AND t.key = 'type' AND t.value = 'disk')`},
	{"profile", `SELECT profiles.name, d.device FROM profiles_devices d
JOIN profiles ON profiles.id = d.profile_id
WHERE d.key = 'pool' AND d.value = ? AND EXISTS (SELECT 1 FROM profiles_devices t
  WHERE t.profile_id = d.profile_id AND t.device = d.device AND t.key = 'type' AND t.value = 'disk')`},
}

// GetStoragePoolDeviceUses returns the disk devices of instances and profiles (their own devices, not those
// inherited from profiles) whose pool key is name, sorted by owner, name and device.
func (t *Tx) GetStoragePoolDeviceUses(ctx context.Context, name string) ([]DeviceUse, error) {
	uses, err := t.deviceUses(ctx, storagePoolDeviceQueries, name)
	if err != nil {
		return nil, fmt.Errorf("loading the users of storage pool %q: %w", name, err)
	}

	return uses, nil
}

// loadPoolConfig reads a pool's configuration as this member sees it: the keys of every member and its own.
func (t *Tx) loadPoolConfig(ctx context.Context, id int64) (map[string]string, error) {
	rows, err := t.query(ctx, "SELECT key, value FROM storage_pools_config WHERE storage_pool_id = ? AND (node_id IS NULL OR node_id = ?)", id, t.node)
	if err != nil {
		return nil, fmt.Errorf("loading storage pool configuration: %w", err)
	}

	return scanKeyValues(rows)
}

// replacePoolConfig replaces a pool's configuration as this member sees it; the keys that belong to each member
// are written as this member's, and the other members' own keys are left as they are.
func (t *Tx) replacePoolConfig(ctx context.Context, id int64, config map[string]string) error {
	_, err := t.exec(ctx, "DELETE FROM storage_pools_config WHERE storage_pool_id = ? AND (node_id IS NULL OR node_id = ?)", id, t.node)
	if err != nil {
		return fmt.Errorf("updating storage pool configuration: %w", err)
	}

	for _, k := range slices.Sorted(maps.Keys(config)) {
		var node any
		if IsPoolNodeKey(k) {
			node = t.nodeArg()
		}

		_, err = t.exec(ctx, "INSERT INTO storage_pools_config (storage_pool_id, node_id, key, value) VALUES (?, ?, ?, ?)", id, node, k, config[k])
		if err != nil {
			return fmt.Errorf("updating storage pool configuration: %w", err)
		}
	}

	return nil
}

// SetStoragePoolNodeConfig replaces this member's own keys of pool name (StoragePoolNodeKeys) with config, which
// may hold no other key: a member that joins records where each pool lives on it.
func (t *Tx) SetStoragePoolNodeConfig(ctx context.Context, name string, config map[string]string) error {
	if t.node == 0 {
		return errs.Invalid("this server is not a cluster member")
	}

	for k := range config {
		if !IsPoolNodeKey(k) {
			return errs.Invalid("%q is not a key of a storage pool that belongs to each member", k)
		}
	}

	id, err := t.lookupID(ctx, storagePoolNotFound(name), "SELECT id FROM storage_pools WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "DELETE FROM storage_pools_config WHERE storage_pool_id = ? AND node_id = ?", id, t.node)
	if err != nil {
		return fmt.Errorf("updating storage pool configuration: %w", err)
	}

	for _, k := range slices.Sorted(maps.Keys(config)) {
		_, err = t.exec(ctx, "INSERT INTO storage_pools_config (storage_pool_id, node_id, key, value) VALUES (?, ?, ?, ?)", id, t.node, k, config[k])
		if err != nil {
			return fmt.Errorf("updating storage pool configuration: %w", err)
		}
	}

	return nil
}
