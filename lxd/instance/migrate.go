package instance

import (
	"context"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// MigrationIDMap returns the map the root filesystem of an instance is shifted to on disk, as a migration source
// announces it: nil when its files are not shifted (a privileged container).
func (m *Manager) MigrationIDMap(expanded map[string]string) []IDMapEntry {
	disk := m.diskIDMap(expanded)
	if disk == nil {
		return nil
	}

	return disk.entries()
}

// ShiftReceived shifts the files of a tree received from another server, owned as the source had them on disk
// (from, nil when unshifted), to the map this server keeps the new instance's files in before its first start: none
// for a privileged container, the server's map otherwise. It returns the value of volatile.last_state.idmap that
// records it.
func (m *Manager) ShiftReceived(ctx context.Context, root string, from []IDMapEntry, config map[string]string,
	profiles []string) (string, error) {
	expanded := config
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		loaded, err := loadProfiles(ctx, tx, profiles)
		if err != nil {
			return err
		}

		expanded, _ = Expand(loaded, config, nil)
		return nil
	})
	if err != nil {
		return "", err
	}

	var src *IDMap
	if len(from) > 0 {
		src = &IDMap{Entries: from}
	}

	var dst *IDMap
	if !m.privileged(expanded) {
		dst = m.idmap
	}

	if !src.Equal(dst) {
		err = ShiftTree(root, src, dst)
		if err != nil {
			return "", err
		}
	}

	if dst == nil {
		return "[]", nil
	}

	return dst.JSON(), nil
}

// ValidateReceive checks an instance received from another server as a creation, with the volatile keys it
// carries allowed.
func (m *Manager) ValidateReceive(ctx context.Context, inst api.Instance) error {
	config, devices, err := restoreConfig(RestoreArgs{Instance: inst})
	if err != nil {
		return err
	}

	return m.validateRestore(ctx, &CreateArgs{Name: inst.Name, Description: inst.Description,
		Ephemeral: inst.Ephemeral, Config: config, Devices: devices, Profiles: inst.Profiles})
}
