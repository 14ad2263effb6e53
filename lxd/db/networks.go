package db

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Network states, as the networks table stores them.
const (
	NetworkPending = "pending"
	NetworkCreated = "created"
	NetworkErrored = "errored"
)

// Network is a managed network row with its configuration.
type Network struct {
	ID          int64
	Name        string
	Type        string
	Description string
	State       string
	Config      map[string]string
}

// networkNotFound is the error for an unknown network.
func networkNotFound(name string) error {
	return fmt.Errorf("network %q: %w", name, errs.ErrNotFound)
}

// GetNetworks returns every managed network, by name.
func (t *Tx) GetNetworks(ctx context.Context) ([]Network, error) {
	return t.scanNetworks(ctx, "1")
}

// GetNetwork returns one managed network.
func (t *Tx) GetNetwork(ctx context.Context, name string) (*Network, error) {
	nets, err := t.scanNetworks(ctx, "name = ?", name)
	if err != nil {
		return nil, err
	}

	if len(nets) == 0 {
		return nil, networkNotFound(name)
	}

	return &nets[0], nil
}

func (t *Tx) scanNetworks(ctx context.Context, where string, args ...any) ([]Network, error) {
	rows, err := t.query(ctx, "SELECT id, name, type, description, state FROM networks WHERE "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading networks: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Network
	for rows.Next() {
		n := Network{}
		err = rows.Scan(&n.ID, &n.Name, &n.Type, &n.Description, &n.State)
		if err != nil {
			return nil, fmt.Errorf("loading networks: %w", err)
		}

		out = append(out, n)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading networks: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadConfig(ctx, "networks_config", "network_id", out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

// CreateNetwork adds a network in the state n.State (pending when empty); an existing name wraps errs.ErrConflict.
func (t *Tx) CreateNetwork(ctx context.Context, n Network) (int64, error) {
	if n.State == "" {
		n.State = NetworkPending
	}

	if n.Type == "" {
		n.Type = "bridge"
	}

	res, err := t.exec(ctx, "INSERT INTO networks (name, type, description, state) VALUES (?, ?, ?, ?)",
		n.Name, n.Type, n.Description, n.State)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("network %q already exists: %w", n.Name, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating network %q: %w", n.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.replaceConfig(ctx, "networks_config", "network_id", id, n.Config)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// SetNetworkState changes the state of a network (pending, created or errored).
func (t *Tx) SetNetworkState(ctx context.Context, name string, state string) error {
	n, err := t.execCount(ctx, "UPDATE networks SET state = ? WHERE name = ?", state, name)
	if err != nil {
		return fmt.Errorf("updating network %q: %w", name, err)
	}

	if n == 0 {
		return networkNotFound(name)
	}

	return nil
}

// UpdateNetwork replaces the description and configuration of a network.
func (t *Tx) UpdateNetwork(ctx context.Context, name string, description string, config map[string]string) error {
	id, err := t.lookupID(ctx, networkNotFound(name), "SELECT id FROM networks WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE networks SET description = ? WHERE id = ?", description, id)
	if err != nil {
		return fmt.Errorf("updating network %q: %w", name, err)
	}

	return t.replaceConfig(ctx, "networks_config", "network_id", id, config)
}

// RenameNetwork renames a network.
func (t *Tx) RenameNetwork(ctx context.Context, name string, newName string) error {
	n, err := t.execCount(ctx, "UPDATE networks SET name = ? WHERE name = ?", newName, name)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("network %q already exists: %w", newName, errs.ErrConflict)
		}

		return fmt.Errorf("renaming network %q: %w", name, err)
	}

	if n == 0 {
		return networkNotFound(name)
	}

	return nil
}

// DeleteNetwork removes a network and its configuration.
func (t *Tx) DeleteNetwork(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM networks WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting network %q: %w", name, err)
	}

	if n == 0 {
		return networkNotFound(name)
	}

	return nil
}

// networkDeviceQuery selects, in a devices table, the nic devices on the network named by ?1: those whose network
// key names it, and bridged, macvlan, ipvlan, physical and sriov nics whose parent is its interface (as LXD counts
// them).
func networkDeviceQuery(owners string, devices string, column string) string {
	has := func(cond string) string {
		return `EXISTS (SELECT 1 FROM ` + devices + ` k WHERE k.` + column + ` = d.` + column +
			` AND k.device = d.device AND ` + cond + `)`
	}

	return `SELECT o.name, d.device FROM ` + devices + ` d JOIN ` + owners + ` o ON o.id = d.` + column + `
WHERE d.key = 'type' AND d.value = 'nic' AND (` + has(`k.key = 'network' AND k.value = ?1`) + ` OR (` +
		has(`k.key = 'parent' AND k.value = ?1`) + ` AND ` +
		has(`k.key = 'nictype' AND k.value IN ('bridged', 'macvlan', 'ipvlan', 'physical', 'sriov')`) + `))`
}

// networkDeviceQueries select the nic devices on a network, of instances and of profiles.
var networkDeviceQueries = []deviceUseQuery{
	{"instance", networkDeviceQuery("instances", "instances_devices", "instance_id")},
	{"profile", networkDeviceQuery("profiles", "profiles_devices", "profile_id")},
}

// GetNetworkDeviceUses returns the nic devices of instances and profiles (their own devices, not those inherited
// from profiles) on the network or host interface name, sorted by owner, name and device.
func (t *Tx) GetNetworkDeviceUses(ctx context.Context, name string) ([]DeviceUse, error) {
	uses, err := t.deviceUses(ctx, networkDeviceQueries, name)
	if err != nil {
		return nil, fmt.Errorf("loading the users of network %q: %w", name, err)
	}

	return uses, nil
}
