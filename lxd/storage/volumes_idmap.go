package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// The keys recording, as LXD does, the id map the files of a custom volume are shifted to.
const (
	keyVolumeIdmapLast = "volatile.idmap.last"
	keyVolumeIdmapNext = "volatile.idmap.next"
)

// idmapEntry is one range of an id map as LXD records it in volatile.idmap.* keys.
type idmapEntry struct {
	Isuid    bool
	Isgid    bool
	Hostid   int64
	Nsid     int64
	Maprange int64
}

// parseIdmap reads a recorded id map; "" and "[]" are no map (host ids as they are).
func parseIdmap(s string) ([]idmapEntry, error) {
	if s == "" {
		return nil, nil
	}

	var out []idmapEntry
	err := json.Unmarshal([]byte(s), &out)
	if err != nil {
		return nil, fmt.Errorf("invalid id map %q: %w", s, err)
	}

	return out, nil
}

// toNS maps a host id to the container id of the map (ok false when outside it); no map keeps it.
func toNS(m []idmapEntry, id int64, uid bool) (int64, bool) {
	if len(m) == 0 {
		return id, true
	}

	for _, e := range m {
		if (uid && e.Isuid || !uid && e.Isgid) && id >= e.Hostid && id < e.Hostid+e.Maprange {
			return id - e.Hostid + e.Nsid, true
		}
	}

	return 0, false
}

// toHost maps a container id to the host id of the map (ok false when outside it); no map keeps it.
func toHost(m []idmapEntry, id int64, uid bool) (int64, bool) {
	if len(m) == 0 {
		return id, true
	}

	for _, e := range m {
		if (uid && e.Isuid || !uid && e.Isgid) && id >= e.Nsid && id < e.Nsid+e.Maprange {
			return id - e.Nsid + e.Hostid, true
		}
	}

	return 0, false
}

// remapID moves an id from the map from to the map to; an id neither maps is kept, and so is an id already in the
// host range of to, so that a shift cut short by a crash is finished by the next one rather than applied twice.
func remapID(from, to []idmapEntry, id int64, uid bool) int64 {
	if len(to) > 0 {
		_, done := toNS(to, id, uid)
		if done {
			return id
		}
	}

	ns, ok := toNS(from, id, uid)
	if !ok {
		return id
	}

	host, ok := toHost(to, ns, uid)
	if !ok {
		return id
	}

	return host
}

// shiftTree changes the owners of every entry under root (not crossing into other file systems) from the id map
// from to the id map to, keeping the modes that chown clears.
func shiftTree(root string, from, to []idmapEntry) error {
	var rootSt unix.Stat_t
	err := unix.Lstat(root, &rootSt)
	if err != nil {
		return err
	}

	return filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}

		var st unix.Stat_t
		err = unix.Lstat(path, &st)
		if err != nil {
			return err
		}

		if st.Dev != rootSt.Dev {
			return filepath.SkipDir
		}

		uid := remapID(from, to, int64(st.Uid), true)
		gid := remapID(from, to, int64(st.Gid), false)
		if uid == int64(st.Uid) && gid == int64(st.Gid) {
			return nil
		}

		err = unix.Lchown(path, int(uid), int(gid))
		if err != nil {
			return fmt.Errorf("shifting %s: %w", path, err)
		}

		if st.Mode&unix.S_IFMT != unix.S_IFLNK && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			return unix.Chmod(path, st.Mode&0o7777)
		}

		return nil
	})
}

// PrepareVolume returns the directory of the custom volume name of pool, for a container whose id map is idmap
// (as LXD records it; "" for a privileged container). When the volume's files were last shifted to another map,
// they are shifted to this one first and the map recorded in volatile.idmap.last and volatile.idmap.next.
func (ps *Pools) PrepareVolume(ctx context.Context, pool string, name string, idmap string) (string, error) {
	p, err := ps.Get(pool)
	if err != nil {
		return "", err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	row, err := ps.customRow(ctx, pool, name)
	if err != nil {
		return "", err
	}

	path := p.volumePath(row.ID)
	if !exists(path) {
		return "", errs.NotFound("the storage of volume %q of pool %q is missing", name, pool)
	}

	last := row.Config[keyVolumeIdmapLast]
	if last == "[]" {
		last = ""
	}

	if idmap == "[]" {
		idmap = ""
	}

	if last == idmap {
		return path, nil
	}

	// The files of a volume mounted in a running container are in that container's map: shifting them would
	// take them from it.
	err = ps.checkNotRunning(ctx, pool, name, "shifted to another id map")
	if err != nil {
		return "", err
	}

	from, err := parseIdmap(last)
	if err != nil {
		return "", err
	}

	to, err := parseIdmap(idmap)
	if err != nil {
		return "", err
	}

	config := maps.Clone(row.Config)
	config[keyVolumeIdmapLast] = idmap
	config[keyVolumeIdmapNext] = idmap
	if idmap == "" {
		config[keyVolumeIdmapLast] = "[]"
		config[keyVolumeIdmapNext] = "[]"
	}

	d, err := ps.volumeDB()
	if err != nil {
		return "", err
	}

	// The map is recorded with the shift: a shift that fails half-way is undone, and the record rolled back.
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.UpdateStorageVolume(ctx, row.ID, row.Description, config)
		if err != nil {
			return err
		}

		err = shiftTree(path, from, to)
		if err != nil {
			_ = shiftTree(path, to, from)
			return fmt.Errorf("shifting the owners of volume %q: %w", name, err)
		}

		return nil
	})
	if err != nil {
		return "", err
	}

	return path, nil
}
