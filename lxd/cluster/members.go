package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// notClustered is the error of a member operation on a server that is not clustered.
func notClustered() error {
	return errs.Invalid("This server is not clustered")
}

// Info returns the cluster as GET /1.0/cluster shows it: the member's name and whether clustering is enabled.
func (m *Manager) Info(ctx context.Context) (api.Cluster, error) {
	info := api.Cluster{MemberConfig: []api.ClusterMemberConfigKey{}}
	if !m.Clustered() {
		return info, nil
	}

	name, err := m.LocalName(ctx)
	if err != nil {
		return info, err
	}

	info.ServerName = name
	info.Enabled = true
	return info, nil
}

// Name returns this member's name as last read ("" when the server is not clustered): at start, at every heartbeat
// and after a rename through this member. It is what instances show as their location.
func (m *Manager) Name() string {
	if !m.Clustered() {
		return ""
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	return m.name
}

// LocalName reads this member's name ("" when the server is not clustered).
func (m *Manager) LocalName(ctx context.Context) (string, error) {
	if !m.Clustered() {
		return "", nil
	}

	name := ""
	addr := m.Address()
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNodeByAddress(ctx, addr)
		if err != nil {
			return err
		}

		name = n.Name
		m.args.DB.SetNode(n.ID)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("finding this cluster member: %w", err)
	}

	m.mu.Lock()
	m.name = name
	m.mu.Unlock()
	return name, nil
}

// Heartbeat records that this member is alive, with the schema and API versions it runs.
func (m *Manager) Heartbeat(ctx context.Context) error {
	if !m.Clustered() {
		return nil
	}

	addr := m.Address()
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetNodeHeartbeat(ctx, addr, time.Now(), m.args.Schema, m.args.APIExtensions)
	})
	if err != nil {
		return err
	}

	_, err = m.LocalName(ctx)
	return err
}

// offlineThreshold is how long a member may go without a heartbeat before it is offline.
func (m *Manager) offlineThreshold() time.Duration {
	return time.Duration(m.args.Config().Int(config.OfflineThreshold)) * time.Second
}

// Members lists the members as the API shows them.
func (m *Manager) Members(ctx context.Context) ([]api.ClusterMember, error) {
	if !m.Clustered() {
		return nil, notClustered()
	}

	var nodes []db.Node
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		nodes, err = tx.GetNodes(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	roles, leader, err := m.args.Gateway.DatabaseRoles(ctx)
	if err != nil {
		slog.Warn("cluster member roles unknown", "err", err)
	}

	out := make([]api.ClusterMember, 0, len(nodes))
	for _, n := range nodes {
		// A server whose join has not finished is not a member yet.
		if n.State == db.NodePending {
			continue
		}

		out = append(out, m.render(n, roles, leader))
	}

	return out, nil
}

// Member returns the member called name.
func (m *Manager) Member(ctx context.Context, name string) (api.ClusterMember, error) {
	members, err := m.Members(ctx)
	if err != nil {
		return api.ClusterMember{}, err
	}

	for _, member := range members {
		if member.ServerName == name {
			return member, nil
		}
	}

	return api.ClusterMember{}, fmt.Errorf("cluster member %q: %w", name, errs.ErrNotFound)
}

// render builds the API view of a member: its status from its last heartbeat, its roles from its record and from
// its place in the database.
func (m *Manager) render(n db.Node, dbRoles map[string]string, leader string) api.ClusterMember {
	member := api.ClusterMember{
		ServerName:   n.Name,
		URL:          "https://" + n.Address,
		Architecture: n.Architecture,
		Status:       StatusOnline,
		Message:      "Fully operational",
	}

	member.Description = n.Description
	member.FailureDomain = n.FailureDomain
	member.Config = n.Config
	member.Groups = []string{}
	member.Roles = append([]string{}, n.Roles...)
	switch dbRoles[n.Address] {
	case RoleDatabase:
		member.Database = true
		member.Roles = append(member.Roles, RoleDatabase)
		if n.Address == leader {
			member.Roles = append(member.Roles, RoleDatabaseLeader)
		}

	case RoleDatabaseStandby:
		member.Roles = append(member.Roles, RoleDatabaseStandby)
	}

	slices.Sort(member.Roles)
	since := time.Since(n.Heartbeat)
	switch {
	case n.State == db.NodeEvacuated:
		member.Status = StatusEvacuated
		member.Message = "Unavailable due to maintenance"
	case since > m.offlineThreshold():
		member.Status = StatusOffline
		member.Message = fmt.Sprintf("No heartbeat for %s (%s)", since.Round(time.Second), n.Heartbeat.UTC().Format(time.RFC3339))
	}

	return member
}

// UpdateMember replaces the description, failure domain, configuration and assignable roles of a member. Database
// roles in put are those the member has; they are ignored, as the database assigns them.
func (m *Manager) UpdateMember(ctx context.Context, name string, put api.ClusterMemberPut) error {
	if !m.Clustered() {
		return notClustered()
	}

	roles := []string{}
	for _, role := range put.Roles {
		switch role {
		case RoleDatabase, RoleDatabaseLeader, RoleDatabaseStandby:
		case RoleEventHub, RoleOVNChassis:
			roles = append(roles, role)
		default:
			return errs.Invalid("invalid cluster member role %q", role)
		}
	}

	// An empty value unsets the key, as "lxc cluster unset" asks.
	config := map[string]string{}
	for key, value := range put.Config {
		err := validMemberConfig(key, value)
		if err != nil {
			return err
		}

		if value != "" {
			config[key] = value
		}
	}

	return m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateNode(ctx, name, db.Node{Description: put.Description, FailureDomain: put.FailureDomain, Roles: roles, Config: config})
	})
}

// RenameMember renames a member.
func (m *Manager) RenameMember(ctx context.Context, name string, newName string) error {
	if !m.Clustered() {
		return notClustered()
	}

	err := ValidMemberName(newName)
	if err != nil {
		return err
	}

	err = m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameNode(ctx, name, newName)
	})
	if err != nil {
		return err
	}

	_, err = m.LocalName(ctx)
	return err
}
