package db

import (
	"context"
	"fmt"
	"sort"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Profile is a profile row with its configuration and devices.
type Profile struct {
	ID          int64
	Name        string
	Description string
	Config      map[string]string
	Devices     map[string]map[string]string
}

// profileNotFound is the error for an unknown profile.
func profileNotFound(name string) error {
	return fmt.Errorf("profile %q: %w", name, errs.ErrNotFound)
}

// GetProfiles returns every profile, by name.
func (t *Tx) GetProfiles(ctx context.Context) ([]Profile, error) {
	return t.scanProfiles(ctx, "1")
}

// GetProfile returns one profile.
func (t *Tx) GetProfile(ctx context.Context, name string) (*Profile, error) {
	profiles, err := t.scanProfiles(ctx, "profiles.name = ?", name)
	if err != nil {
		return nil, err
	}

	if len(profiles) == 0 {
		return nil, profileNotFound(name)
	}

	return &profiles[0], nil
}

func (t *Tx) scanProfiles(ctx context.Context, where string, args ...any) ([]Profile, error) {
	rows, err := t.query(ctx, "SELECT id, name, description FROM profiles WHERE "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading profiles: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Profile
	for rows.Next() {
		p := Profile{Config: map[string]string{}, Devices: map[string]map[string]string{}}
		err = rows.Scan(&p.ID, &p.Name, &p.Description)
		if err != nil {
			return nil, fmt.Errorf("loading profiles: %w", err)
		}

		out = append(out, p)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading profiles: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadConfig(ctx, "profiles_config", "profile_id", out[i].ID)
		if err != nil {
			return nil, err
		}

		out[i].Devices, err = t.loadDevices(ctx, "profiles_devices", "profile_id", out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

// CreateProfile adds a profile; an existing name wraps errs.ErrConflict.
func (t *Tx) CreateProfile(ctx context.Context, p Profile) (int64, error) {
	res, err := t.exec(ctx, "INSERT INTO profiles (name, description) VALUES (?, ?)", p.Name, p.Description)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("profile %q already exists: %w", p.Name, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating profile %q: %w", p.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.replaceConfig(ctx, "profiles_config", "profile_id", id, p.Config)
	if err != nil {
		return 0, err
	}

	err = t.replaceDevices(ctx, "profiles_devices", "profile_id", id, p.Devices)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// UpdateProfile replaces the description, configuration and devices of a profile.
func (t *Tx) UpdateProfile(ctx context.Context, name string, p Profile) error {
	id, err := t.lookupID(ctx, profileNotFound(name), "SELECT id FROM profiles WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE profiles SET description = ? WHERE id = ?", p.Description, id)
	if err != nil {
		return fmt.Errorf("updating profile %q: %w", name, err)
	}

	err = t.replaceConfig(ctx, "profiles_config", "profile_id", id, p.Config)
	if err != nil {
		return err
	}

	return t.replaceDevices(ctx, "profiles_devices", "profile_id", id, p.Devices)
}

// RenameProfile renames a profile.
func (t *Tx) RenameProfile(ctx context.Context, name string, newName string) error {
	n, err := t.execCount(ctx, "UPDATE profiles SET name = ? WHERE name = ?", newName, name)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("profile %q already exists: %w", newName, errs.ErrConflict)
		}

		return fmt.Errorf("renaming profile %q: %w", name, err)
	}

	if n == 0 {
		return profileNotFound(name)
	}

	return nil
}

// DeleteProfile removes a profile; a profile still used by an instance wraps errs.ErrConflict.
func (t *Tx) DeleteProfile(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM profiles WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting profile %q: %w", name, err)
	}

	if n == 0 {
		return profileNotFound(name)
	}

	return nil
}

// GetProfileUsedBy returns the names of the instances using a profile, sorted.
func (t *Tx) GetProfileUsedBy(ctx context.Context, name string) ([]string, error) {
	rows, err := t.query(ctx, `SELECT instances.name FROM instances
JOIN instances_profiles ON instances_profiles.instance_id = instances.id
JOIN profiles ON profiles.id = instances_profiles.profile_id
WHERE profiles.name = ? ORDER BY instances.name`, name)
	if err != nil {
		return nil, err
	}

	return scanStrings(rows)
}

// loadConfig reads the key/value rows of one owner from table.
func (t *Tx) loadConfig(ctx context.Context, table string, column string, id int64) (map[string]string, error) {
	rows, err := t.query(ctx, "SELECT key, value FROM "+table+" WHERE "+column+" = ?", id)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", table, err)
	}

	return scanKeyValues(rows)
}

// loadDevices reads the device rows of one owner from table.
func (t *Tx) loadDevices(ctx context.Context, table string, column string, id int64) (map[string]map[string]string, error) {
	rows, err := t.query(ctx, "SELECT device, key, value FROM "+table+" WHERE "+column+" = ?", id)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", table, err)
	}

	defer func() { _ = rows.Close() }()

	out := map[string]map[string]string{}
	for rows.Next() {
		var dev, k, v string
		err = rows.Scan(&dev, &k, &v)
		if err != nil {
			return nil, err
		}

		if out[dev] == nil {
			out[dev] = map[string]string{}
		}

		out[dev][k] = v
	}

	return out, mapError(rows.Err())
}

// replaceConfig replaces the key/value rows of one owner in table.
func (t *Tx) replaceConfig(ctx context.Context, table string, column string, id int64, config map[string]string) error {
	_, err := t.exec(ctx, "DELETE FROM "+table+" WHERE "+column+" = ?", id)
	if err != nil {
		return fmt.Errorf("updating %s: %w", table, err)
	}

	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, k := range keys {
		_, err = t.exec(ctx, "INSERT INTO "+table+" ("+column+", key, value) VALUES (?, ?, ?)", id, k, config[k])
		if err != nil {
			return fmt.Errorf("updating %s: %w", table, err)
		}
	}

	return nil
}

// replaceDevices replaces the device rows of one owner in table. A device with no key is kept as a "type" row so
// it is not lost.
func (t *Tx) replaceDevices(ctx context.Context, table string, column string, id int64, devices map[string]map[string]string) error {
	_, err := t.exec(ctx, "DELETE FROM "+table+" WHERE "+column+" = ?", id)
	if err != nil {
		return fmt.Errorf("updating %s: %w", table, err)
	}

	for dev, conf := range devices {
		if len(conf) == 0 {
			conf = map[string]string{"type": ""}
		}

		for k, v := range conf {
			_, err = t.exec(ctx, "INSERT INTO "+table+" ("+column+", device, key, value) VALUES (?, ?, ?, ?)",
				id, dev, k, v)
			if err != nil {
				return fmt.Errorf("updating %s: %w", table, err)
			}
		}
	}

	return nil
}
