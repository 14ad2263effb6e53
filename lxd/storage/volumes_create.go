package storage

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/revert"
)

// volumeLock serialises the changes of one custom volume of the pool (the key space of the bases has no "/").
func (p *Pool) volumeLock(name string) func() {
	return p.bases.Lock(customDir + "/" + name)
}

// stagedVolume is a volume made apart, under a .tmp- directory of the pool's custom/ directory, before its rows are
// committed: vol is the volume, snaps its snapshots (in the order of snapRows).
type stagedVolume struct {
	pool     *Pool
	holder   string
	snapRows []db.StorageVolumeSnapshot
}

func (s *stagedVolume) vol() string                            { return filepath.Join(s.holder, "vol") }
func (s *stagedVolume) snapsDir() string                       { return filepath.Join(s.holder, "snaps") }
func (s *stagedVolume) snap(i int) string                      { return filepath.Join(s.snapsDir(), fmt.Sprint(i)) }
func (s *stagedVolume) remove()                                { _ = removeTree(s.holder) }
func (s *stagedVolume) addSnapshot(r db.StorageVolumeSnapshot) { s.snapRows = append(s.snapRows, r) }

// stageVolume makes the holder of a new volume on the pool.
func (p *Pool) stageVolume() (*stagedVolume, error) {
	for _, d := range []string{filepath.Join(p.dir, customDir), filepath.Join(p.dir, customSnapshotDir)} {
		err := makeTreesDir(d, 0o711)
		if err != nil {
			return nil, err
		}
	}

	holder, err := os.MkdirTemp(filepath.Join(p.dir, customDir), ".tmp-")
	if err != nil {
		return nil, err
	}

	return &stagedVolume{pool: p, holder: holder}, nil
}

// commitVolume records a staged volume and its snapshots and moves their storage into place, in one transaction:
// a crash before the commit leaves storage under the ids of rows that do not exist, which the next start removes.
// also, when not nil, runs in the same transaction (a move deletes its source there).
func (ps *Pools) commitVolume(ctx context.Context, s *stagedVolume, row db.StorageVolume, also func(ctx context.Context, tx *db.Tx) error) error {
	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	p := s.pool
	var placed []string
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		id, err := tx.CreateStorageVolume(ctx, row)
		if err != nil {
			return err
		}

		for i, snap := range s.snapRows {
			snap.VolumeID = id
			sid, err := tx.CreateStorageVolumeSnapshot(ctx, snap)
			if err != nil {
				return err
			}

			err = os.Rename(s.snap(i), filepath.Join(s.snapsDir(), fmt.Sprint(sid)))
			if err != nil {
				return err
			}
		}

		if also != nil {
			err = also(ctx, tx)
			if err != nil {
				return err
			}
		}

		err = project.CheckVolumes(ctx, tx, d.project)
		if err != nil {
			return err
		}

		if len(s.snapRows) > 0 {
			err = os.Rename(s.snapsDir(), p.volumeSnapshotsPath(id))
			if err != nil {
				return err
			}

			placed = append(placed, p.volumeSnapshotsPath(id))
		}

		err = os.Rename(s.vol(), p.volumePath(id))
		if err != nil {
			return err
		}

		placed = append(placed, p.volumePath(id))
		err = fsutil.SyncDir(filepath.Join(p.dir, customDir))
		if err != nil {
			return err
		}

		CrashPoint("volume-placed")
		return nil
	})
	if err != nil {
		for _, path := range placed {
			_ = removeTree(path)
		}

		return err
	}

	return nil
}

// volumeConfig checks the configuration of a new custom volume (volatile keys are the daemon's) and fills in the
// pool's volume.size default.
func (ps *Pools) volumeConfig(ctx context.Context, pool string, req map[string]string, copying bool) (map[string]string, error) {
	config := maps.Clone(req)
	if config == nil {
		config = map[string]string{}
	}

	for k := range config {
		if strings.HasPrefix(k, "volatile.") {
			if !copying {
				return nil, errs.Invalid("the volatile key %q cannot be set", k)
			}

			delete(config, k)
		}
	}

	err := validateVolumeConfig(config)
	if err != nil {
		return nil, err
	}

	_, has := config["size"]
	if !has {
		pp, err := ps.GetPool(ctx, pool)
		if err != nil {
			return nil, err
		}

		if pp.Config["volume.size"] != "" {
			config["size"] = pp.Config["volume.size"]
		}
	}

	return config, validateVolumeConfig(config)
}

// applyVolumeSize limits the space of a volume at path to its size= (nothing where the driver does not enforce
// sizes, as dir).
func (p *Pool) applyVolumeSize(path string, size string) error {
	n := int64(0)
	if size != "" {
		var err error
		n, err = ParseSize(size)
		if err != nil {
			return err
		}
	}

	err := p.drv.SetQuota(path, n)
	if err != nil {
		return fmt.Errorf("setting the size of the volume to %q: %w", size, err)
	}

	return nil
}

// checkVolumeKind refuses a new volume of a type or content type other than a custom filesystem one.
func checkVolumeKind(req api.StorageVolumesPost) error {
	if req.Type != "" {
		err := refuseNonCustom(req.Type, "created")
		if err != nil {
			return err
		}
	}

	switch req.ContentType {
	case "", "filesystem":
		return nil
	case "block":
		return errs.Unsupported("block storage volumes are not supported: only filesystem ones")
	}

	return errs.Invalid("invalid content type %q (filesystem)", req.ContentType)
}

// CreateVolume creates a custom volume (req.Source.Type "copy" copies one, see CopyVolume).
func (ps *Pools) CreateVolume(ctx context.Context, pool string, req api.StorageVolumesPost) error {
	err := checkVolumeKind(req)
	if err != nil {
		return err
	}

	err = ValidateVolumeName("storage volume", req.Name)
	if err != nil {
		return err
	}

	switch req.Source.Type {
	case "", "none":
	case "copy":
		return ps.CopyVolume(ctx, ps, pool, req, false)
	default:
		return errs.Unsupported("storage volume source type %q is not supported (copy)", req.Source.Type)
	}

	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	config, err := ps.volumeConfig(ctx, pool, req.Config, false)
	if err != nil {
		return err
	}

	unlock := p.volumeLock(req.Name)
	defer unlock()
	_, err = ps.customRow(ctx, pool, req.Name)
	if err == nil {
		return errs.Conflict("storage volume custom/%s already exists on pool %q", req.Name, pool)
	}

	s, err := p.stageVolume()
	if err != nil {
		return err
	}

	defer s.remove()
	err = p.drv.CreateVolume(s.vol())
	if err != nil {
		return fmt.Errorf("creating storage volume %q: %w", req.Name, err)
	}

	err = p.applyVolumeSize(s.vol(), config["size"])
	if err != nil {
		return err
	}

	return ps.commitVolume(ctx, s, db.StorageVolume{Pool: pool, Name: req.Name, Type: VolumeTypeCustom,
		ContentType: "filesystem", Description: req.Description, Config: config}, nil)
}

// volumeSource is the source of a copy: a custom volume, or one of its snapshots.
type volumeSource struct {
	pool  *Pool
	row   *db.StorageVolume
	snaps []db.StorageVolumeSnapshot

	// snap is the snapshot copied (nil for the volume).
	snap *db.StorageVolumeSnapshot
}

// path is the storage of the source.
func (src *volumeSource) path() string {
	if src.snap != nil {
		return src.pool.volumeSnapshotPath(src.row.ID, src.snap.ID)
	}

	return src.pool.volumePath(src.row.ID)
}

// loadVolumeSource reads the source of a copy: name is "<volume>" or "<volume>/<snapshot>".
func (ps *Pools) loadVolumeSource(ctx context.Context, pool string, name string) (*volumeSource, error) {
	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	d, err := ps.volumeDB()
	if err != nil {
		return nil, err
	}

	volName, snapName, isSnap := strings.Cut(name, "/")
	src := &volumeSource{pool: p}
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		src.row, err = getCustomVolume(ctx, tx, pool, volName)
		if err != nil {
			return err
		}

		src.snaps, err = tx.GetStorageVolumeSnapshots(ctx, src.row.ID)
		return err
	})
	if err != nil {
		return nil, err
	}

	if isSnap {
		for i := range src.snaps {
			if src.snaps[i].Name == snapName {
				src.snap = &src.snaps[i]
			}
		}

		if src.snap == nil {
			return nil, errs.NotFound("snapshot %q of storage volume %q not found on pool %q", snapName, volName, pool)
		}
	}

	return src, nil
}

// CopyVolume copies the custom volume req.Source.Name of pool req.Source.Pool (or one of its snapshots,
// "<volume>/<snapshot>") among the custom volumes from sees (ps, or the pools as the source's project sees them)
// to a new custom volume req.Name of pool, with its snapshots unless req.Source.VolumeOnly. With move, the source
// is deleted, and the disks naming it pointed at the copy, in the same transaction that records the copy.
func (ps *Pools) CopyVolume(ctx context.Context, from *Pools, pool string, req api.StorageVolumesPost, move bool) error {
	if req.Source.Refresh {
		return errs.Unsupported("refreshing a copy of a storage volume is not supported")
	}

	err := checkVolumeKind(req)
	if err != nil {
		return err
	}

	if req.Source.Name == "" {
		return errs.Invalid("no source volume given")
	}

	if req.Source.Pool == "" {
		req.Source.Pool = pool
	}

	if req.Name == "" {
		req.Name = req.Source.Name
	}

	err = ValidateVolumeName("storage volume", req.Name)
	if err != nil {
		return err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	src, err := from.loadVolumeSource(ctx, req.Source.Pool, req.Source.Name)
	if err != nil {
		return err
	}

	config, err := ps.volumeConfig(ctx, pool, req.Config, true)
	if err != nil {
		return err
	}

	// The files keep the owners they have, so the copy keeps the id map they were shifted to.
	kept := src.row.Config
	if src.snap != nil {
		kept = src.snap.Config
	}

	for k, v := range kept {
		if strings.HasPrefix(k, "volatile.idmap.") {
			config[k] = v
		}
	}

	unlocks := lockVolumes(p, req.Name, src.pool, src.row.Name)
	defer unlocks()
	if move {
		err = from.checkNotRunning(ctx, src.row.Pool, src.row.Name, "moved")
		if err != nil {
			return err
		}
	}

	_, err = ps.customRow(ctx, pool, req.Name)
	if err == nil {
		return errs.Conflict("storage volume custom/%s already exists on pool %q", req.Name, pool)
	}

	s, err := p.stageVolume()
	if err != nil {
		return err
	}

	defer s.remove()
	err = p.copyVolume(src.path(), s.vol(), false)
	if err != nil {
		return fmt.Errorf("copying storage volume %q: %w", req.Source.Name, err)
	}

	CrashPoint("volume-copied")
	err = p.applyVolumeSize(s.vol(), config["size"])
	if err != nil {
		return err
	}

	if src.snap == nil && !req.Source.VolumeOnly {
		err = os.Mkdir(s.snapsDir(), 0o700)
		if err != nil {
			return err
		}

		for i, snap := range src.snaps {
			err = p.copyVolume(src.pool.volumeSnapshotPath(src.row.ID, snap.ID), s.snap(i), true)
			if err != nil {
				return fmt.Errorf("copying snapshot %q: %w", snap.Name, err)
			}

			s.addSnapshot(snap)
		}
	}

	var also func(ctx context.Context, tx *db.Tx) error
	if move {
		also = func(ctx context.Context, tx *db.Tx) error {
			err := tx.DeleteStorageVolume(ctx, src.row.ID)
			if err != nil {
				return err
			}

			return tx.InProject(src.row.Project).RetargetStorageVolumeDisks(ctx, src.row.Pool, src.row.Name, pool, req.Name)
		}
	}

	err = ps.commitVolume(ctx, s, db.StorageVolume{Pool: pool, Name: req.Name, Type: VolumeTypeCustom,
		ContentType: src.row.ContentType, Description: req.Description, Config: config}, also)
	if err != nil || !move {
		return err
	}

	CrashPoint("volume-moved")
	return src.pool.removeVolumeStorage(src.row.ID)
}

// lockVolumes locks two volumes (the same one once) in a fixed order and returns the release of both.
func lockVolumes(p1 *Pool, name1 string, p2 *Pool, name2 string) func() {
	k1, k2 := p1.name+"/"+name1, p2.name+"/"+name2
	switch {
	case k1 == k2:
		return p1.volumeLock(name1)
	case k1 > k2:
		p1, name1, p2, name2 = p2, name2, p1, name1
	}

	u1 := p1.volumeLock(name1)
	u2 := p2.volumeLock(name2)
	return func() { u2(); u1() }
}

// removeVolumeStorage removes the storage of a volume whose row is gone, renaming it out of the way first.
func (p *Pool) removeVolumeStorage(id int64) error {
	err := removeEntombed(p.volumePath(id), "volume-delete-entombed")
	if err != nil {
		return err
	}

	return removeEntombed(p.volumeSnapshotsPath(id), "")
}

// checkUnused refuses a change (what) of a custom volume that instances or profiles use, naming them.
func (ps *Pools) checkUnused(ctx context.Context, pool string, name string, what string) error {
	vol, err := ps.Volume(ctx, pool, VolumeTypeCustom, name)
	if err != nil {
		return err
	}

	if len(vol.UsedBy) > 0 {
		return errs.Invalid("the storage volume %q cannot be %s while it is in use by %s", name, what,
			strings.Join(vol.UsedBy, ", "))
	}

	return nil
}

// RenameVolume renames a custom volume (req.Name), or moves it to another pool (req.Pool) under req.Name; the disks
// of instances and profiles naming it follow. A volume used by a running instance is refused.
func (ps *Pools) RenameVolume(ctx context.Context, pool string, volType string, name string, req api.StorageVolumePost) error {
	err := refuseNonCustom(volType, "renamed")
	if err != nil {
		return err
	}

	if req.Migration || req.Target != nil {
		return errs.Unsupported("migrating storage volumes between servers is not supported")
	}

	if req.Project != "" && req.Project != "default" {
		return errs.NotFound("project %q not found", req.Project)
	}

	if req.Name == "" {
		req.Name = name
	}

	if req.Pool != "" && req.Pool != pool {
		return ps.CopyVolume(ctx, ps, req.Pool, api.StorageVolumesPost{
			Name: req.Name, Type: VolumeTypeCustom,
			Source:           api.StorageVolumeSource{Type: "copy", Pool: pool, Name: name, VolumeOnly: req.VolumeOnly},
			StorageVolumePut: api.StorageVolumePut{Config: map[string]string{}},
		}, true)
	}

	err = ValidateVolumeName("storage volume", req.Name)
	if err != nil {
		return err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	unlocks := lockVolumes(p, name, p, req.Name)
	defer unlocks()
	err = ps.checkNotRunning(ctx, pool, name, "renamed")
	if err != nil {
		return err
	}

	if req.Name == name {
		return nil
	}

	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	// The storage is named after the row's id: the rename is the row's alone, with the disks naming the volume.
	return d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := getCustomVolume(ctx, tx, pool, name)
		if err != nil {
			return err
		}

		err = tx.RenameStorageVolume(ctx, row.ID, req.Name)
		if err != nil {
			return err
		}

		return tx.RetargetStorageVolumeDisks(ctx, pool, name, pool, req.Name)
	})
}

// DeleteVolume deletes a custom volume and its snapshots; one in use is refused, naming its users. The row goes
// first: a crash afterwards leaves storage without a row, which the next start removes.
func (ps *Pools) DeleteVolume(ctx context.Context, pool string, volType string, name string) error {
	err := refuseNonCustom(volType, "deleted")
	if err != nil {
		return err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	err = ps.checkUnused(ctx, pool, name, "deleted")
	if err != nil {
		return err
	}

	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	var id int64
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := getCustomVolume(ctx, tx, pool, name)
		if err != nil {
			return err
		}

		id = row.ID
		return tx.DeleteStorageVolume(ctx, row.ID)
	})
	if err != nil {
		return err
	}

	CrashPoint("volume-row-deleted")
	return p.removeVolumeStorage(id)
}

// UpdateVolume replaces the description and configuration of a custom volume (volatile keys stay the daemon's),
// applying a new size at once; put.Restore, when set, restores the volume from that snapshot instead.
func (ps *Pools) UpdateVolume(ctx context.Context, pool string, volType string, name string, put api.StorageVolumePut) error {
	err := refuseNonCustom(volType, "changed")
	if err != nil {
		return err
	}

	if put.Restore != "" {
		return ps.RestoreVolume(ctx, pool, name, put.Restore)
	}

	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	config := maps.Clone(put.Config)
	if config == nil {
		config = map[string]string{}
	}

	for k := range config {
		if strings.HasPrefix(k, "volatile.") {
			delete(config, k)
		}
	}

	err = validateVolumeConfig(config)
	if err != nil {
		return err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := getCustomVolume(ctx, tx, pool, name)
		if err != nil {
			return err
		}

		for k, v := range row.Config {
			if strings.HasPrefix(k, "volatile.") {
				config[k] = v
			}
		}

		err = tx.UpdateStorageVolume(ctx, row.ID, put.Description, config)
		if err != nil {
			return err
		}

		err = project.CheckVolumes(ctx, tx, d.project)
		if err != nil {
			return err
		}

		// Applied last, inside the transaction: a refused size leaves the record as it was.
		if row.Config["size"] != config["size"] {
			err = p.applyVolumeSize(p.volumePath(row.ID), config["size"])
			if err != nil {
				return err
			}

			r.Add(func() { _ = p.applyVolumeSize(p.volumePath(row.ID), row.Config["size"]) })
		}

		return nil
	})
	if err != nil {
		return err
	}

	r.Success()
	return nil
}
