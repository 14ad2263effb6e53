package db

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// StorageVolume is a storage volume row (a custom volume: instances and image bases are not recorded as volumes)
// with its configuration.
type StorageVolume struct {
	ID          int64
	Pool        string
	Project     string
	Name        string
	Type        string
	ContentType string
	Description string
	CreatedAt   time.Time
	Config      map[string]string
}

// StorageVolumeSnapshot is a row of storage_volumes_snapshots; Config is the volume's configuration when it was
// taken.
type StorageVolumeSnapshot struct {
	ID          int64
	VolumeID    int64
	Name        string
	Description string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Config      map[string]string
}

func storageVolumeNotFound(pool string, volType string, name string) error {
	return fmt.Errorf("storage volume %s/%s on pool %q: %w", volType, name, pool, errs.ErrNotFound)
}

const storageVolumeColumns = `SELECT v.id, p.name, v.project, v.name, v.type, v.content_type, v.description, v.creation_date
FROM storage_volumes v JOIN storage_pools p ON p.id = v.storage_pool_id`

// GetStorageVolumes returns the volumes of the transaction's project on a pool ("" for every pool), by pool,
// type and name.
func (t *Tx) GetStorageVolumes(ctx context.Context, pool string) ([]StorageVolume, error) {
	if pool == "" {
		return t.scanStorageVolumes(ctx, "v.project = ?", t.scopedProject())
	}

	return t.scanStorageVolumes(ctx, "v.project = ? AND p.name = ?", t.scopedProject(), pool)
}

// GetAllStorageVolumes returns the volumes of every project on a pool ("" for every pool).
func (t *Tx) GetAllStorageVolumes(ctx context.Context, pool string) ([]StorageVolume, error) {
	if pool == "" {
		return t.scanStorageVolumes(ctx, "1")
	}

	return t.scanStorageVolumes(ctx, "p.name = ?", pool)
}

// GetStorageVolume returns one volume of the transaction's project.
func (t *Tx) GetStorageVolume(ctx context.Context, pool string, volType string, name string) (*StorageVolume, error) {
	vols, err := t.scanStorageVolumes(ctx, "v.project = ? AND p.name = ? AND v.type = ? AND v.name = ?",
		t.scopedProject(), pool, volType, name)
	if err != nil {
		return nil, err
	}

	if len(vols) == 0 {
		return nil, storageVolumeNotFound(pool, volType, name)
	}

	return &vols[0], nil
}

func (t *Tx) scanStorageVolumes(ctx context.Context, where string, args ...any) ([]StorageVolume, error) {
	rows, err := t.query(ctx, storageVolumeColumns+" WHERE "+where+" ORDER BY p.name, v.project, v.type, v.name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading storage volumes: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []StorageVolume
	for rows.Next() {
		v := StorageVolume{}
		var created nullTime
		err = rows.Scan(&v.ID, &v.Pool, &v.Project, &v.Name, &v.Type, &v.ContentType, &v.Description, &created)
		if err != nil {
			return nil, fmt.Errorf("loading storage volumes: %w", err)
		}

		v.CreatedAt = created.Time
		out = append(out, v)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading storage volumes: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadConfig(ctx, "storage_volumes_config", "storage_volume_id", out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

// CreateStorageVolume adds a volume to the pool v.Pool, in project v.Project (the transaction's project when
// empty), and returns its id; an existing name wraps errs.ErrConflict.
func (t *Tx) CreateStorageVolume(ctx context.Context, v StorageVolume) (int64, error) {
	poolID, err := t.lookupID(ctx, storagePoolNotFound(v.Pool), "SELECT id FROM storage_pools WHERE name = ?", v.Pool)
	if err != nil {
		return 0, err
	}

	if v.ContentType == "" {
		v.ContentType = "filesystem"
	}

	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}

	if v.Project == "" {
		v.Project = t.scopedProject()
	}

	res, err := t.exec(ctx, `INSERT INTO storage_volumes (storage_pool_id, project, name, type, content_type, description, creation_date)
VALUES (?, ?, ?, ?, ?, ?, ?)`, poolID, v.Project, v.Name, v.Type, v.ContentType, v.Description, timeArg(v.CreatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("storage volume %s/%s already exists on pool %q: %w", v.Type, v.Name, v.Pool, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating storage volume %q: %w", v.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.replaceConfig(ctx, "storage_volumes_config", "storage_volume_id", id, v.Config)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// UpdateStorageVolume replaces the description and configuration of a volume.
func (t *Tx) UpdateStorageVolume(ctx context.Context, id int64, description string, config map[string]string) error {
	n, err := t.execCount(ctx, "UPDATE storage_volumes SET description = ? WHERE id = ?", description, id)
	if err != nil {
		return fmt.Errorf("updating storage volume: %w", err)
	}

	if n == 0 {
		return fmt.Errorf("storage volume %d: %w", id, errs.ErrNotFound)
	}

	return t.replaceConfig(ctx, "storage_volumes_config", "storage_volume_id", id, config)
}

// RenameStorageVolume renames a volume; an existing name wraps errs.ErrConflict.
func (t *Tx) RenameStorageVolume(ctx context.Context, id int64, name string) error {
	_, err := t.exec(ctx, "UPDATE storage_volumes SET name = ? WHERE id = ?", name, id)
	if isUniqueViolation(err) {
		return fmt.Errorf("storage volume %q already exists: %w", name, errs.ErrConflict)
	}

	return err
}

// DeleteStorageVolume removes a volume with its configuration and snapshots.
func (t *Tx) DeleteStorageVolume(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "DELETE FROM storage_volumes WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting storage volume: %w", err)
	}

	return nil
}

// GetStorageVolumeSnapshots returns the snapshots of a volume, oldest first.
func (t *Tx) GetStorageVolumeSnapshots(ctx context.Context, volumeID int64) ([]StorageVolumeSnapshot, error) {
	rows, err := t.query(ctx, `SELECT id, storage_volume_id, name, description, creation_date, expiry_date, config
FROM storage_volumes_snapshots WHERE storage_volume_id = ? ORDER BY creation_date, id`, volumeID)
	if err != nil {
		return nil, fmt.Errorf("loading storage volume snapshots: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []StorageVolumeSnapshot
	for rows.Next() {
		s := StorageVolumeSnapshot{}
		var created, expiry nullTime
		var config string
		err = rows.Scan(&s.ID, &s.VolumeID, &s.Name, &s.Description, &created, &expiry, &config)
		if err != nil {
			return nil, fmt.Errorf("loading storage volume snapshots: %w", err)
		}

		s.CreatedAt, s.ExpiresAt = created.Time, expiry.Time
		s.Config = map[string]string{}
		err = json.Unmarshal([]byte(config), &s.Config)
		if err != nil {
			return nil, fmt.Errorf("loading the configuration of snapshot %q: %w", s.Name, err)
		}

		out = append(out, s)
	}

	return out, mapError(rows.Err())
}

// CreateStorageVolumeSnapshot adds a snapshot of a volume and returns its id; an existing name wraps
// errs.ErrConflict.
func (t *Tx) CreateStorageVolumeSnapshot(ctx context.Context, s StorageVolumeSnapshot) (int64, error) {
	config, err := json.Marshal(s.Config)
	if err != nil {
		return 0, err
	}

	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}

	res, err := t.exec(ctx, `INSERT INTO storage_volumes_snapshots (storage_volume_id, name, description, creation_date, expiry_date, config)
VALUES (?, ?, ?, ?, ?, ?)`, s.VolumeID, s.Name, s.Description, timeArg(s.CreatedAt), timeArg(s.ExpiresAt), string(config))
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("snapshot %q already exists: %w", s.Name, errs.ErrConflict)
	}

	if err != nil {
		return 0, fmt.Errorf("creating snapshot %q: %w", s.Name, err)
	}

	return res.LastInsertId()
}

// UpdateStorageVolumeSnapshot replaces the description and expiry of a snapshot.
func (t *Tx) UpdateStorageVolumeSnapshot(ctx context.Context, id int64, description string, expiresAt time.Time) error {
	_, err := t.exec(ctx, "UPDATE storage_volumes_snapshots SET description = ?, expiry_date = ? WHERE id = ?",
		description, timeArg(expiresAt), id)
	return err
}

// RenameStorageVolumeSnapshot renames a snapshot; an existing name wraps errs.ErrConflict.
func (t *Tx) RenameStorageVolumeSnapshot(ctx context.Context, id int64, name string) error {
	_, err := t.exec(ctx, "UPDATE storage_volumes_snapshots SET name = ? WHERE id = ?", name, id)
	if isUniqueViolation(err) {
		return fmt.Errorf("snapshot %q already exists: %w", name, errs.ErrConflict)
	}

	return err
}

// DeleteStorageVolumeSnapshot removes a snapshot.
func (t *Tx) DeleteStorageVolumeSnapshot(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "DELETE FROM storage_volumes_snapshots WHERE id = ?", id)
	return err
}

// storageVolumeDeviceQueries select the disk devices whose pool and source are the two arguments: instances' own,
// profiles', and instances' through their profiles (reported as the instance).
var storageVolumeDeviceQueries = []string{
	`SELECT 'instance', instances.name, d.device FROM instances_devices d
JOIN instances ON instances.id = d.instance_id
WHERE d.key = 'pool' AND d.value = ?1
  AND EXISTS (SELECT 1 FROM instances_devices s WHERE s.instance_id = d.instance_id AND s.device = d.device AND s.key = 'source' AND s.value = ?2)
  AND EXISTS (SELECT 1 FROM instances_devices t WHERE t.instance_id = d.instance_id AND t.device = d.device AND t.key = 'type' AND t.value = 'disk')`,
	`SELECT 'profile', profiles.name, d.device FROM profiles_devices d
JOIN profiles ON profiles.id = d.profile_id
WHERE d.key = 'pool' AND d.value = ?1
  AND EXISTS (SELECT 1 FROM profiles_devices s WHERE s.profile_id = d.profile_id AND s.device = d.device AND s.key = 'source' AND s.value = ?2)
  AND EXISTS (SELECT 1 FROM profiles_devices t WHERE t.profile_id = d.profile_id AND t.device = d.device AND t.key = 'type' AND t.value = 'disk')`,
	`SELECT 'instance', instances.name, d.device FROM profiles_devices d
JOIN instances_profiles ip ON ip.profile_id = d.profile_id
JOIN instances ON instances.id = ip.instance_id
WHERE d.key = 'pool' AND d.value = ?1
  AND EXISTS (SELECT 1 FROM profiles_devices s WHERE s.profile_id = d.profile_id AND s.device = d.device AND s.key = 'source' AND s.value = ?2)
  AND EXISTS (SELECT 1 FROM profiles_devices t WHERE t.profile_id = d.profile_id AND t.device = d.device AND t.key = 'type' AND t.value = 'disk')
  AND NOT EXISTS (SELECT 1 FROM instances_devices o WHERE o.instance_id = instances.id AND o.device = d.device)`,
}

// ownerProject is the project of an instance key ("<project>_<name>") or a profile key ("<project>/<name>"), as
// lxd/project makes them: default for a bare name.
func ownerProject(owner string, key string) string {
	sep := "_"
	if owner == "profile" {
		sep = "/"
	}

	p, _, ok := strings.Cut(key, sep)
	if !ok {
		return DefaultProject
	}

	return p
}

// volumeUsers returns whether a device of an instance or a profile (owner, key) reaches the custom volumes of the
// transaction's project: a project with features.storage.volumes reaches its own volumes, any other default's.
func (t *Tx) volumeUsers(ctx context.Context) (func(owner string, key string) bool, error) {
	rows, err := t.query(ctx, `SELECT projects.name FROM projects JOIN projects_config c ON c.project_id = projects.id
WHERE c.key = 'features.storage.volumes' AND lower(c.value) IN ('true', '1', 'yes', 'on')`)
	if err != nil {
		return nil, fmt.Errorf("loading the projects with storage volumes: %w", err)
	}

	names, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("loading the projects with storage volumes: %w", err)
	}

	own := map[string]bool{DefaultProject: true}
	for _, n := range names {
		own[n] = true
	}

	project := t.scopedProject()
	return func(owner string, key string) bool {
		p := ownerProject(owner, key)
		if !own[p] {
			p = DefaultProject
		}

		return p == project
	}, nil
}

// GetStorageVolumeDeviceUses returns the disk devices of instances and profiles that mount the custom volume name
// of pool of the transaction's project; an instance using it through a profile is listed too. Names are the
// instances' and profiles' keys. Sorted by owner, name and device.
func (t *Tx) GetStorageVolumeDeviceUses(ctx context.Context, pool string, name string) ([]DeviceUse, error) {
	reaches, err := t.volumeUsers(ctx)
	if err != nil {
		return nil, err
	}

	var out []DeviceUse
	seen := map[DeviceUse]bool{}
	for _, q := range storageVolumeDeviceQueries {
		err := func() error {
			rows, err := t.query(ctx, q, pool, name)
			if err != nil {
				return err
			}

			defer func() { _ = rows.Close() }()
			for rows.Next() {
				u := DeviceUse{}
				err = rows.Scan(&u.Owner, &u.Name, &u.Device)
				if err != nil {
					return err
				}

				if !seen[u] && reaches(u.Owner, u.Name) {
					seen[u] = true
					out = append(out, u)
				}
			}

			return mapError(rows.Err())
		}()
		if err != nil {
			return nil, fmt.Errorf("loading the users of storage volume %q: %w", name, err)
		}
	}

	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}

		if a.Name != b.Name {
			return a.Name < b.Name
		}

		return a.Device < b.Device
	})

	return out, nil
}

// RetargetStorageVolumeDisks points the disk devices of instances and profiles that mount the custom volume name of
// pool of the transaction's project at newName of newPool, as a rename or a move of the volume does.
func (t *Tx) RetargetStorageVolumeDisks(ctx context.Context, pool string, name string, newPool string, newName string) error {
	reaches, err := t.volumeUsers(ctx)
	if err != nil {
		return err
	}

	for _, table := range []struct{ devices, owners, owner, kind string }{
		{"instances_devices", "instances", "instance_id", "instance"},
		{"profiles_devices", "profiles", "profile_id", "profile"},
	} {
		q := fmt.Sprintf(`SELECT d.%[2]s, o.name, d.device FROM %[1]s d JOIN %[3]s o ON o.id = d.%[2]s
WHERE d.key = 'pool' AND d.value = ?
  AND EXISTS (SELECT 1 FROM %[1]s s WHERE s.%[2]s = d.%[2]s AND s.device = d.device AND s.key = 'source' AND s.value = ?)
  AND EXISTS (SELECT 1 FROM %[1]s y WHERE y.%[2]s = d.%[2]s AND y.device = d.device AND y.key = 'type' AND y.value = 'disk')`,
			table.devices, table.owner, table.owners)
		type target struct {
			owner  int64
			device string
		}

		var targets []target
		err := func() error {
			rows, err := t.query(ctx, q, pool, name)
			if err != nil {
				return err
			}

			defer func() { _ = rows.Close() }()
			for rows.Next() {
				var tg target
				var key string
				err = rows.Scan(&tg.owner, &key, &tg.device)
				if err != nil {
					return err
				}

				if reaches(table.kind, key) {
					targets = append(targets, tg)
				}
			}

			return mapError(rows.Err())
		}()
		if err != nil {
			return fmt.Errorf("finding the disks of storage volume %q: %w", name, err)
		}

		for _, tg := range targets {
			for k, v := range map[string]string{"pool": newPool, "source": newName} {
				_, err = t.exec(ctx, fmt.Sprintf("UPDATE %s SET value = ? WHERE %s = ? AND device = ? AND key = ?",
					table.devices, table.owner), v, tg.owner, tg.device, k)
				if err != nil {
					return fmt.Errorf("updating the disks of storage volume %q: %w", name, err)
				}
			}
		}
	}

	return nil
}
