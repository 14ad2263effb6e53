package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Snapshot is a snapshot row: the instance's writable state when it was taken.
type Snapshot struct {
	ID           int64
	Instance     string
	Name         string
	Architecture string
	Ephemeral    bool
	Stateful     bool
	Description  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Config       map[string]string
	Devices      map[string]map[string]string
	Profiles     []string
}

func snapshotNotFound(instance string, name string) error {
	return fmt.Errorf("snapshot %q of instance %q: %w", name, instance, errs.ErrNotFound)
}

// GetSnapshots returns the snapshots of an instance, oldest first.
func (t *Tx) GetSnapshots(ctx context.Context, instance string) ([]Snapshot, error) {
	return t.scanSnapshots(ctx, "instances.name = ?", instance)
}

// GetSnapshot returns one snapshot of an instance.
func (t *Tx) GetSnapshot(ctx context.Context, instance string, name string) (*Snapshot, error) {
	out, err := t.scanSnapshots(ctx, "instances.name = ? AND instances_snapshots.name = ?", instance, name)
	if err != nil {
		return nil, err
	}

	if len(out) == 0 {
		return nil, snapshotNotFound(instance, name)
	}

	return &out[0], nil
}

func (t *Tx) scanSnapshots(ctx context.Context, where string, args ...any) ([]Snapshot, error) {
	rows, err := t.query(ctx, `SELECT instances_snapshots.id, instances.name, instances_snapshots.name,
instances_snapshots.architecture, instances_snapshots.ephemeral, instances_snapshots.stateful,
instances_snapshots.description, instances_snapshots.creation_date, instances_snapshots.expiry_date,
instances_snapshots.config, instances_snapshots.devices, instances_snapshots.profiles
FROM instances_snapshots JOIN instances ON instances.id = instances_snapshots.instance_id
WHERE `+where+` ORDER BY instances_snapshots.creation_date, instances_snapshots.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("loading snapshots: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Snapshot
	for rows.Next() {
		var snap Snapshot
		var created, expires nullTime
		var config, devices, profiles string
		err = rows.Scan(&snap.ID, &snap.Instance, &snap.Name, &snap.Architecture, &snap.Ephemeral, &snap.Stateful,
			&snap.Description, &created, &expires, &config, &devices, &profiles)
		if err != nil {
			return nil, fmt.Errorf("loading snapshots: %w", err)
		}

		snap.CreatedAt = created.Time
		snap.ExpiresAt = expires.Time
		err = unmarshalSnapshotState(&snap, config, devices, profiles)
		if err != nil {
			return nil, err
		}

		out = append(out, snap)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading snapshots: %w", mapError(err))
	}

	return out, nil
}

func unmarshalSnapshotState(snap *Snapshot, config string, devices string, profiles string) error {
	snap.Config = map[string]string{}
	snap.Devices = map[string]map[string]string{}
	snap.Profiles = []string{}
	for _, f := range []struct {
		data string
		dest any
	}{{config, &snap.Config}, {devices, &snap.Devices}, {profiles, &snap.Profiles}} {
		err := json.Unmarshal([]byte(f.data), f.dest)
		if err != nil {
			return fmt.Errorf("loading snapshot %q of instance %q: %w", snap.Name, snap.Instance, err)
		}
	}

	return nil
}

// CreateSnapshot adds a snapshot of snap.Instance; an existing name wraps errs.ErrConflict and an unknown instance
// errs.ErrNotFound.
func (t *Tx) CreateSnapshot(ctx context.Context, snap Snapshot) (int64, error) {
	inst, err := t.GetInstance(ctx, snap.Instance)
	if err != nil {
		return 0, err
	}

	state := make([]string, 0, 3)
	for _, v := range []any{nonNilMap(snap.Config), nonNilDevices(snap.Devices), nonNilSlice(snap.Profiles)} {
		data, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}

		state = append(state, string(data))
	}

	res, err := t.exec(ctx, `INSERT INTO instances_snapshots (instance_id, name, architecture, ephemeral, stateful,
description, creation_date, expiry_date, config, devices, profiles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inst.ID, snap.Name, snap.Architecture, snap.Ephemeral, snap.Stateful, snap.Description,
		timeArg(snap.CreatedAt), timeArg(snap.ExpiresAt), state[0], state[1], state[2])
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("snapshot %q of instance %q already exists: %w", snap.Name, snap.Instance, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating snapshot %q of instance %q: %w", snap.Name, snap.Instance, err)
	}

	return res.LastInsertId()
}

// RenameSnapshot renames a snapshot of an instance.
func (t *Tx) RenameSnapshot(ctx context.Context, instance string, name string, newName string) error {
	n, err := t.execCount(ctx, `UPDATE instances_snapshots SET name = ?
WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, newName, name, instance)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("snapshot %q of instance %q already exists: %w", newName, instance, errs.ErrConflict)
		}

		return fmt.Errorf("renaming snapshot %q of instance %q: %w", name, instance, err)
	}

	if n == 0 {
		return snapshotNotFound(instance, name)
	}

	return nil
}

// UpdateSnapshotExpiry changes when a snapshot expires; the zero time means never.
func (t *Tx) UpdateSnapshotExpiry(ctx context.Context, instance string, name string, expires time.Time) error {
	n, err := t.execCount(ctx, `UPDATE instances_snapshots SET expiry_date = ?
WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, timeArg(expires), name, instance)
	if err != nil {
		return fmt.Errorf("updating snapshot %q of instance %q: %w", name, instance, err)
	}

	if n == 0 {
		return snapshotNotFound(instance, name)
	}

	return nil
}

// DeleteSnapshot removes a snapshot of an instance.
func (t *Tx) DeleteSnapshot(ctx context.Context, instance string, name string) error {
	n, err := t.execCount(ctx, `DELETE FROM instances_snapshots
WHERE name = ? AND instance_id = (SELECT id FROM instances WHERE name = ?)`, name, instance)
	if err != nil {
		return fmt.Errorf("deleting snapshot %q of instance %q: %w", name, instance, err)
	}

	if n == 0 {
		return snapshotNotFound(instance, name)
	}

	return nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}

	return m
}

func nonNilDevices(m map[string]map[string]string) map[string]map[string]string {
	if m == nil {
		return map[string]map[string]string{}
	}

	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}

	return s
}
