package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Member states (the nodes table's state column).
const (
	NodeCreated   = 0
	NodePending   = 1
	NodeEvacuated = 2
)

// Node is a cluster member as stored.
type Node struct {
	ID            int64
	Name          string
	Description   string
	Address       string
	Schema        int
	APIExtensions int
	Architecture  string
	FailureDomain string
	Heartbeat     time.Time
	State         int
	Roles         []string
	Config        map[string]string
}

// nodeNotFound is the error of a member that does not exist.
func nodeNotFound(name string) error {
	return fmt.Errorf("cluster member %q: %w", name, errs.ErrNotFound)
}

// CreateNode adds a member and returns its id. A name or address already in use is ErrConflict.
func (t *Tx) CreateNode(ctx context.Context, n Node) (int64, error) {
	if n.FailureDomain == "" {
		n.FailureDomain = "default"
	}

	res, err := t.exec(ctx, `INSERT INTO nodes (name, description, address, schema, api_extensions, architecture, failure_domain, heartbeat, state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.Name, n.Description, n.Address, n.Schema, n.APIExtensions, n.Architecture, n.FailureDomain, n.Heartbeat.UTC().Format(timeLayout), n.State)
	if isUniqueViolation(err) {
		return 0, errs.Conflict("a cluster member with name %q or address %q already exists", n.Name, n.Address)
	}

	if err != nil {
		return 0, fmt.Errorf("adding cluster member %q: %w", n.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("adding cluster member %q: %w", n.Name, err)
	}

	err = t.setNodeDetails(ctx, id, n.Roles, n.Config)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// GetNodes returns every member, ordered by id (the order they joined in).
func (t *Tx) GetNodes(ctx context.Context) ([]Node, error) {
	return t.getNodes(ctx, "")
}

// GetNode returns the member called name.
func (t *Tx) GetNode(ctx context.Context, name string) (Node, error) {
	nodes, err := t.getNodes(ctx, "WHERE name = ?", name)
	if err != nil {
		return Node{}, err
	}

	if len(nodes) == 0 {
		return Node{}, nodeNotFound(name)
	}

	return nodes[0], nil
}

// GetNodeByAddress returns the member whose address is address.
func (t *Tx) GetNodeByAddress(ctx context.Context, address string) (Node, error) {
	nodes, err := t.getNodes(ctx, "WHERE address = ?", address)
	if err != nil {
		return Node{}, err
	}

	if len(nodes) == 0 {
		return Node{}, fmt.Errorf("cluster member with address %q: %w", address, errs.ErrNotFound)
	}

	return nodes[0], nil
}

func (t *Tx) getNodes(ctx context.Context, where string, args ...any) ([]Node, error) {
	rows, err := t.query(ctx, `SELECT id, name, description, address, schema, api_extensions, architecture, failure_domain, heartbeat, state
FROM nodes `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing cluster members: %w", err)
	}

	var nodes []Node
	for rows.Next() {
		var n Node
		var heartbeat nullTime
		err = rows.Scan(&n.ID, &n.Name, &n.Description, &n.Address, &n.Schema, &n.APIExtensions, &n.Architecture, &n.FailureDomain, &heartbeat, &n.State)
		if err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("listing cluster members: %w", err)
		}

		n.Heartbeat = heartbeat.Time
		n.Roles = []string{}
		n.Config = map[string]string{}
		nodes = append(nodes, n)
	}

	err = rows.Err()
	_ = rows.Close()
	if err != nil {
		return nil, fmt.Errorf("listing cluster members: %w", mapError(err))
	}

	for i := range nodes {
		err = t.loadNodeDetails(ctx, &nodes[i])
		if err != nil {
			return nil, err
		}
	}

	return nodes, nil
}

// loadNodeDetails fills the roles and configuration of n.
func (t *Tx) loadNodeDetails(ctx context.Context, n *Node) error {
	rows, err := t.query(ctx, "SELECT role FROM nodes_roles WHERE node_id = ? ORDER BY role", n.ID)
	if err != nil {
		return fmt.Errorf("loading roles of cluster member %q: %w", n.Name, err)
	}

	roles, err := scanStrings(rows)
	if err != nil {
		return fmt.Errorf("loading roles of cluster member %q: %w", n.Name, err)
	}

	n.Roles = append(n.Roles, roles...)
	n.Config, err = t.loadConfig(ctx, "nodes_config", "node_id", n.ID)
	return err
}

// setNodeDetails replaces the roles and configuration of the member id.
func (t *Tx) setNodeDetails(ctx context.Context, id int64, roles []string, config map[string]string) error {
	_, err := t.exec(ctx, "DELETE FROM nodes_roles WHERE node_id = ?", id)
	if err != nil {
		return fmt.Errorf("replacing member roles: %w", err)
	}

	for _, role := range slices.Compact(slices.Sorted(slices.Values(roles))) {
		_, err = t.exec(ctx, "INSERT INTO nodes_roles (node_id, role) VALUES (?, ?)", id, role)
		if err != nil {
			return fmt.Errorf("setting member role %q: %w", role, err)
		}
	}

	return t.replaceConfig(ctx, "nodes_config", "node_id", id, config)
}

// UpdateNode replaces the editable fields of the member called name: description, failure domain, roles and
// configuration.
func (t *Tx) UpdateNode(ctx context.Context, name string, n Node) error {
	if n.FailureDomain == "" {
		n.FailureDomain = "default"
	}

	id, err := t.lookupID(ctx, nodeNotFound(name), "SELECT id FROM nodes WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE nodes SET description = ?, failure_domain = ? WHERE id = ?", n.Description, n.FailureDomain, id)
	if err != nil {
		return fmt.Errorf("updating cluster member %q: %w", name, err)
	}

	return t.setNodeDetails(ctx, id, n.Roles, n.Config)
}

// RenameNode renames a member; a name in use is ErrConflict.
func (t *Tx) RenameNode(ctx context.Context, name string, newName string) error {
	n, err := t.execCount(ctx, "UPDATE nodes SET name = ? WHERE name = ?", newName, name)
	if isUniqueViolation(err) {
		return errs.Conflict("a cluster member named %q already exists", newName)
	}

	if err != nil {
		return fmt.Errorf("renaming cluster member %q: %w", name, err)
	}

	if n == 0 {
		return nodeNotFound(name)
	}

	return nil
}

// SetNodeHeartbeat records that the member at address was alive at when, with the versions it runs.
func (t *Tx) SetNodeHeartbeat(ctx context.Context, address string, when time.Time, schema int, apiExtensions int) error {
	n, err := t.execCount(ctx, "UPDATE nodes SET heartbeat = ?, schema = ?, api_extensions = ? WHERE address = ?", when.UTC().Format(timeLayout), schema, apiExtensions, address)
	if err != nil {
		return fmt.Errorf("recording heartbeat of %s: %w", address, err)
	}

	if n == 0 {
		return fmt.Errorf("cluster member with address %q: %w", address, errs.ErrNotFound)
	}

	return nil
}

// DeleteNode removes the member called name.
func (t *Tx) DeleteNode(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM nodes WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("removing cluster member %q: %w", name, err)
	}

	if n == 0 {
		return nodeNotFound(name)
	}

	return nil
}

// AssignToNode makes member id the owner of what belongs to no member: the instances, and the storage pool keys
// that belong to each member (StoragePoolNodeKeys). The first member of a cluster takes over its server's this way.
func (t *Tx) AssignToNode(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "UPDATE instances SET node_id = ? WHERE node_id IS NULL", id)
	if err != nil {
		return fmt.Errorf("assigning the instances to member %d: %w", id, err)
	}

	for _, key := range StoragePoolNodeKeys {
		_, err = t.exec(ctx, "UPDATE storage_pools_config SET node_id = ? WHERE node_id IS NULL AND key = ?", id, key)
		if err != nil {
			return fmt.Errorf("assigning the storage pools' member keys to member %d: %w", id, err)
		}
	}

	return nil
}

// JoinBlockers describes what this server holds that a join would hide: instances, images, custom storage volumes
// and managed networks, as "3 instances" and the like; empty when there is none.
func (t *Tx) JoinBlockers(ctx context.Context) ([]string, error) {
	kinds := []struct{ what, query string }{
		{"instances", "SELECT COUNT(*) FROM instances"},
		{"images", "SELECT COUNT(*) FROM images"},
		{"custom storage volumes", "SELECT COUNT(*) FROM storage_volumes WHERE type = 'custom'"},
		{"managed networks", "SELECT COUNT(*) FROM networks"},
	}

	var out []string
	for _, k := range kinds {
		var n int
		err := t.queryRow(ctx, k.query, nil, &n)
		if err != nil {
			return nil, fmt.Errorf("counting the %s: %w", k.what, err)
		}

		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, k.what))
		}
	}

	return out, nil
}

// SetNodeJoined marks the member id as in service once it has joined: its state, heartbeat and versions.
func (t *Tx) SetNodeJoined(ctx context.Context, id int64, when time.Time, schema int, apiExtensions int) error {
	n, err := t.execCount(ctx, "UPDATE nodes SET state = ?, heartbeat = ?, schema = ?, api_extensions = ? WHERE id = ?",
		NodeCreated, when.UTC().Format(timeLayout), schema, apiExtensions, id)
	if err != nil {
		return fmt.Errorf("recording the join of cluster member %d: %w", id, err)
	}

	if n == 0 {
		return errs.NotFound("cluster member %d not found", id)
	}

	return nil
}

// SetNodeState changes the state of member id (NodeCreated, NodeEvacuated).
func (t *Tx) SetNodeState(ctx context.Context, id int64, state int) error {
	n, err := t.execCount(ctx, "UPDATE nodes SET state = ? WHERE id = ?", state, id)
	if err != nil {
		return fmt.Errorf("changing the state of cluster member %d: %w", id, err)
	}

	if n == 0 {
		return errs.NotFound("cluster member %d not found", id)
	}

	return nil
}
