package instance

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// moveName is the name of the copy a move to another pool makes before it replaces its source, as LXD names it.
func moveName(uuid string) string {
	return "lxd-move-of-" + uuid
}

// MoveToPool moves a stopped instance, with its snapshots, to another storage pool: its root disk becomes a local
// device on that pool (overriding a profile's), its MAC addresses and UUID are kept. It copies the instance under a
// temporary name, deletes the source and gives the copy the source's name. Until the copy is complete the source is
// untouched, and a failed copy leaves nothing.
func (m *Manager) MoveToPool(ctx context.Context, name string, pool string) error {
	if !m.pool.Has(pool) {
		return errs.NotFound("storage pool %q not found", pool)
	}

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		return errs.Invalid("moving a running instance to another storage pool is not supported, stop it first")
	}

	_, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	rootName, root, ok := RootDisk(devices)
	if !ok {
		return errs.Invalid("Failed getting root disk: No root device could be found")
	}

	if root["pool"] == pool {
		return errs.Invalid("the instance is already on storage pool %q", pool)
	}

	local := map[string]map[string]string{}
	for k, v := range inst.Devices {
		local[k] = maps.Clone(v)
	}

	newRoot := maps.Clone(root)
	newRoot["pool"] = pool
	local[rootName] = newRoot

	// The kept keys: the copy gets fresh volatile keys, then the source's identity.
	kept := map[string]string{}
	for k, v := range inst.Config {
		if k == KeyUUID || (strings.HasPrefix(k, "volatile.") && strings.HasSuffix(k, ".hwaddr")) {
			kept[k] = v
		}
	}

	tmp := moveName(inst.Config[KeyUUID])
	err = m.Copy(ctx, CopyArgs{Source: name, Name: tmp, Description: inst.Description, Ephemeral: inst.Ephemeral,
		Devices: local, Profiles: inst.Profiles, Move: true})
	if err != nil {
		return err
	}

	err = m.Delete(ctx, name)
	if err != nil {
		derr := m.Delete(context.Background(), tmp)
		if derr != nil {
			slog.Error("failed removing the copy of a failed move", "instance", tmp, "err", derr)
		}

		return err
	}

	m.setVolatile(ctx, tmp, kept)
	err = m.Rename(ctx, tmp, name)
	if err != nil {
		return fmt.Errorf("the instance moved to pool %q is left as %q: %w", pool, tmp, err)
	}

	return nil
}
