package instance

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"syscall"

	"github.com/lxd-go/lxd/lxd/db"
)

// ShiftTree moves the owners of every file under root from the map from to the map to (nil is no map: host ids
// are container ids): each owner is mapped back into the container through from, then out to the host through
// to. An owner that either map leaves out is kept. The set-user-ID and set-group-ID bits that chown clears are
// put back.
func ShiftTree(root string, from *IDMap, to *IDMap) error {
	nsID := func(id int64, isUID bool) (int64, bool) {
		if from == nil {
			return id, true
		}

		return from.nsID(id, isUID)
	}

	hostID := func(id int64, isUID bool) (int64, bool) {
		if to == nil {
			return id, true
		}

		return to.hostID(id, isUID)
	}

	move := func(id int64, isUID bool) int64 {
		ns, ok := nsID(id, isUID)
		if !ok {
			return id
		}

		host, ok := hostID(ns, isUID)
		if !ok {
			return id
		}

		return host
	}

	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}

		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%q: no ownership information", path)
		}

		uid, gid := move(int64(st.Uid), true), move(int64(st.Gid), false)
		if uid == int64(st.Uid) && gid == int64(st.Gid) {
			return nil
		}

		err = os.Lchown(path, int(uid), int(gid))
		if err != nil {
			return err
		}

		special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid)
		if special != 0 && fi.Mode().IsRegular() {
			return os.Chmod(path, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}

		return nil
	})
}

// startIDMap settles the map of a container about to start from its mounted root filesystem rootfs and returns it
// (nil when privileged): the map is chosen again (a profile or the other isolated containers may have changed),
// the root filesystem is shifted to it when it is shifted to another (volatile.last_state.idmap), and the
// volatile keys record it. The shift is recorded only once done, so that a start cut short shifts again.
func (m *Manager) startIDMap(ctx context.Context, name string, config map[string]string, rootfs string) (*IDMap, error) {
	if m.privileged(config) {
		return nil, nil
	}

	// The map is chosen and recorded in one transaction, so that containers starting together never take the
	// same range.
	var next *IDMap
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var base int64
		var err error
		next, base, err = m.nextIDMap(ctx, tx, name, config)
		if err != nil {
			return err
		}

		keys := map[string]string{}
		setIDMapKeys(keys, next, base)
		if keys[KeyIdmapBase] == config[KeyIdmapBase] && keys[KeyIdmapNext] == config[KeyIdmapNext] {
			return nil
		}

		err = tx.SetInstanceConfig(ctx, name, keys)
		if err != nil {
			return err
		}

		maps.Copy(config, keys)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("choosing the id map of %q: %w", name, err)
	}

	disk := m.diskIDMap(config)
	err = checkShiftProtection(config, disk, next)
	if err != nil {
		return nil, err
	}

	if !disk.Equal(next) {
		slog.Info("shifting the root filesystem of an instance to its id map", "instance", name,
			"from", disk.JSON(), "to", next.JSON())
		err = ShiftTree(rootfs, disk, next)
		if err != nil {
			return nil, fmt.Errorf("shifting the root filesystem of %q: %w", name, err)
		}
	}

	keys := map[string]string{KeyLastIdmap: next.JSON(), KeyIdmapCurrent: next.JSON()}
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, keys)
	})
	if err != nil {
		return nil, err
	}

	for k, v := range keys {
		config[k] = v
	}

	return next, nil
}

// copyIDMap shifts the root filesystem of the copy name, made as its source's (volatile.last_state.idmap in
// config), to the copy's own map (volatile.idmap.next), and records it; it returns expanded with the keys set.
func (m *Manager) copyIDMap(ctx context.Context, name string, expanded map[string]string, config map[string]string) (map[string]string, error) {
	out := maps.Clone(expanded)
	for _, k := range []string{KeyIdmapBase, KeyIdmapNext, KeyLastIdmap} {
		if config[k] != "" {
			out[k] = config[k]
		}
	}

	if m.privileged(out) {
		return out, nil
	}

	next, err := ParseIDMapJSON(config[KeyIdmapNext])
	if err != nil || next == nil {
		return out, err
	}

	disk := m.diskIDMap(out)
	if !disk.Equal(next) {
		rootfs, err := m.pool.Mount(name)
		if err != nil {
			return nil, err
		}

		err = ShiftTree(rootfs, disk, next)
		unmountErr := m.pool.Unmount(name)
		if err != nil {
			return nil, fmt.Errorf("shifting the root filesystem of %q: %w", name, err)
		}

		if unmountErr != nil {
			return nil, unmountErr
		}
	}

	out[KeyLastIdmap] = next.JSON()
	m.setVolatile(ctx, name, map[string]string{KeyLastIdmap: next.JSON()})
	return out, nil
}
