package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Instance is an instance row with its own configuration, devices and profiles (in the order they apply).
type Instance struct {
	ID           int64
	Name         string
	Type         string
	Architecture string
	Ephemeral    bool
	Stateful     bool
	Description  string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	Config       map[string]string
	Devices      map[string]map[string]string
	Profiles     []string

	// Node is the name of the cluster member the instance is on; empty when the server is not clustered.
	Node string
}

// InstanceUpdate holds the writable fields of an instance; Config, Devices and Profiles replace the old ones.
type InstanceUpdate struct {
	Architecture string
	Ephemeral    bool
	Description  string
	Config       map[string]string
	Devices      map[string]map[string]string
	Profiles     []string
}

// instanceNotFound is the error for an unknown instance.
func instanceNotFound(name string) error {
	return fmt.Errorf("instance %q: %w", name, errs.ErrNotFound)
}

const instanceColumns = `id, name, type, architecture, ephemeral, stateful, description, creation_date, last_use_date,
IFNULL((SELECT nodes.name FROM nodes WHERE nodes.id = instances.node_id), '')`

// GetInstances returns every instance, by name: in a cluster, those of every member.
func (t *Tx) GetInstances(ctx context.Context) ([]Instance, error) {
	return t.scanInstances(ctx, "1")
}

// GetLocalInstances returns the instances on this server, by name: in a cluster, this member's.
func (t *Tx) GetLocalInstances(ctx context.Context) ([]Instance, error) {
	return t.scanInstances(ctx, "node_id IS NULL OR node_id = ?", t.node)
}

// GetInstance returns one instance.
func (t *Tx) GetInstance(ctx context.Context, name string) (*Instance, error) {
	out, err := t.scanInstances(ctx, "name = ?", name)
	if err != nil {
		return nil, err
	}

	if len(out) == 0 {
		return nil, instanceNotFound(name)
	}

	return &out[0], nil
}

func (t *Tx) scanInstances(ctx context.Context, where string, args ...any) ([]Instance, error) {
	rows, err := t.query(ctx, "SELECT "+instanceColumns+" FROM instances WHERE "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading instances: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Instance
	for rows.Next() {
		var inst Instance
		var created, lastUsed nullTime
		err = rows.Scan(&inst.ID, &inst.Name, &inst.Type, &inst.Architecture, &inst.Ephemeral, &inst.Stateful,
			&inst.Description, &created, &lastUsed, &inst.Node)
		if err != nil {
			return nil, fmt.Errorf("loading instances: %w", err)
		}

		inst.CreatedAt = created.Time
		inst.LastUsedAt = lastUsed.Time
		out = append(out, inst)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading instances: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadConfig(ctx, "instances_config", "instance_id", out[i].ID)
		if err != nil {
			return nil, err
		}

		out[i].Devices, err = t.loadDevices(ctx, "instances_devices", "instance_id", out[i].ID)
		if err != nil {
			return nil, err
		}

		out[i].Profiles, err = t.instanceProfiles(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

func (t *Tx) instanceProfiles(ctx context.Context, id int64) ([]string, error) {
	rows, err := t.query(ctx, `SELECT profiles.name FROM instances_profiles
JOIN profiles ON profiles.id = instances_profiles.profile_id
WHERE instances_profiles.instance_id = ? ORDER BY instances_profiles.apply_order`, id)
	if err != nil {
		return nil, fmt.Errorf("loading instance profiles: %w", err)
	}

	out, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}

	if out == nil {
		out = []string{}
	}

	return out, nil
}

// CreateInstance adds an instance on this server (in a cluster, this member); an existing name wraps errs.ErrConflict and an unknown profile errs.ErrNotFound.
func (t *Tx) CreateInstance(ctx context.Context, inst Instance) (int64, error) {
	res, err := t.exec(ctx, `INSERT INTO instances (name, type, architecture, ephemeral, stateful, description,
creation_date, last_use_date, node_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, inst.Name, inst.Type, inst.Architecture,
		inst.Ephemeral, inst.Stateful, inst.Description, timeArg(inst.CreatedAt), timeArg(inst.LastUsedAt), t.nodeArg())
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("instance %q already exists: %w", inst.Name, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating instance %q: %w", inst.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.writeInstance(ctx, id, inst.Config, inst.Devices, inst.Profiles)
	if err != nil {
		return 0, err
	}

	return id, nil
}

func (t *Tx) writeInstance(ctx context.Context, id int64, config map[string]string, devices map[string]map[string]string, profiles []string) error {
	err := t.replaceConfig(ctx, "instances_config", "instance_id", id, config)
	if err != nil {
		return err
	}

	err = t.replaceDevices(ctx, "instances_devices", "instance_id", id, devices)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "DELETE FROM instances_profiles WHERE instance_id = ?", id)
	if err != nil {
		return err
	}

	for i, name := range profiles {
		pid, err := t.lookupID(ctx, profileNotFound(name), "SELECT id FROM profiles WHERE name = ?", name)
		if err != nil {
			return err
		}

		_, err = t.exec(ctx, "INSERT INTO instances_profiles (instance_id, profile_id, apply_order) VALUES (?, ?, ?)",
			id, pid, i)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("profile %q is listed twice: %w", name, errs.ErrInvalid)
			}

			return err
		}
	}

	return nil
}

// UpdateInstance replaces the writable fields of an instance.
func (t *Tx) UpdateInstance(ctx context.Context, name string, upd InstanceUpdate) error {
	id, err := t.instanceID(ctx, name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE instances SET architecture = ?, ephemeral = ?, description = ? WHERE id = ?",
		upd.Architecture, upd.Ephemeral, upd.Description, id)
	if err != nil {
		return fmt.Errorf("updating instance %q: %w", name, err)
	}

	return t.writeInstance(ctx, id, upd.Config, upd.Devices, upd.Profiles)
}

// SetInstanceConfig sets some configuration keys of an instance (volatile state); an empty value removes the key.
func (t *Tx) SetInstanceConfig(ctx context.Context, name string, changes map[string]string) error {
	id, err := t.instanceID(ctx, name)
	if err != nil {
		return err
	}

	for k, v := range changes {
		if v == "" {
			_, err = t.exec(ctx, "DELETE FROM instances_config WHERE instance_id = ? AND key = ?", id, k)
		} else {
			_, err = t.exec(ctx, `INSERT INTO instances_config (instance_id, key, value) VALUES (?, ?, ?)
ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value`, id, k, v)
		}

		if err != nil {
			return fmt.Errorf("updating instance %q: %w", name, err)
		}
	}

	return nil
}

// UpdateInstanceLastUse records when an instance last started.
func (t *Tx) UpdateInstanceLastUse(ctx context.Context, name string, when time.Time) error {
	n, err := t.execCount(ctx, "UPDATE instances SET last_use_date = ? WHERE name = ?", timeArg(when), name)
	if err != nil {
		return err
	}

	if n == 0 {
		return instanceNotFound(name)
	}

	return nil
}

// RenameInstance renames an instance.
func (t *Tx) RenameInstance(ctx context.Context, name string, newName string) error {
	n, err := t.execCount(ctx, "UPDATE instances SET name = ? WHERE name = ?", newName, name)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("instance %q already exists: %w", newName, errs.ErrConflict)
		}

		return fmt.Errorf("renaming instance %q: %w", name, err)
	}

	if n == 0 {
		return instanceNotFound(name)
	}

	return nil
}

// DeleteInstance removes an instance with its configuration, devices and profile links.
func (t *Tx) DeleteInstance(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM instances WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting instance %q: %w", name, err)
	}

	if n == 0 {
		return instanceNotFound(name)
	}

	return nil
}

func (t *Tx) instanceID(ctx context.Context, name string) (int64, error) {
	return t.lookupID(ctx, instanceNotFound(name), "SELECT id FROM instances WHERE name = ?", name)
}
