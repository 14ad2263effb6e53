package instance

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/revert"
)

// CopyArgs describe a new instance copied from another one or from a snapshot.
type CopyArgs struct {
	// Source is "instance" or "instance/snapshot".
	Source string

	Name        string
	Description string
	Ephemeral   bool

	// Config is laid over the source's configuration (its volatile keys are never copied); Devices and Profiles,
	// when not nil, replace the source's.
	Config   map[string]string
	Devices  map[string]map[string]string
	Profiles []string

	// InstanceOnly leaves the snapshots of a source instance out of the copy.
	InstanceOnly bool

	// Move makes a copy that is to replace its source (a move to another pool): no template is rendered.
	Move bool
}

// copySource is the state a copy starts from: an instance's or a snapshot's.
type copySource struct {
	instance *db.Instance
	snapshot string
	config   map[string]string
	devices  map[string]map[string]string
	profiles []string
}

// loadCopySource reads the instance or snapshot a copy is made from.
func (m *Manager) loadCopySource(ctx context.Context, source string) (*copySource, error) {
	name, snap, isSnap := strings.Cut(source, "/")
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	src := &copySource{instance: inst, config: inst.Config, devices: inst.Devices, profiles: inst.Profiles}
	if !isSnap {
		return src, nil
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := tx.GetSnapshot(ctx, name, snap)
		if err != nil {
			return err
		}

		src.snapshot = snap
		src.config, src.devices, src.profiles = row.Config, row.Devices, row.Profiles
		return nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	if err != nil {
		return nil, err
	}

	return src, nil
}

// copyCreateArgs merges a copy request over its source into creation arguments.
func copyCreateArgs(src *copySource, args CopyArgs) CreateArgs {
	config := map[string]string{}
	for k, v := range src.config {
		if !strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	for k, v := range args.Config {
		if !strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	devices := args.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
		for k, v := range src.devices {
			devices[k] = maps.Clone(v)
		}
	}

	profiles := args.Profiles
	if profiles == nil {
		profiles = src.profiles
	}

	return CreateArgs{
		Name:        args.Name,
		Description: args.Description,
		Ephemeral:   args.Ephemeral,
		Config:      config,
		Devices:     devices,
		Profiles:    profiles,
	}
}

// ValidateCopy checks a copy request before any work starts.
func (m *Manager) ValidateCopy(ctx context.Context, args CopyArgs) error {
	src, err := m.loadCopySource(ctx, args.Source)
	if err != nil {
		return err
	}

	create := copyCreateArgs(src, args)
	return m.ValidateCreate(ctx, &create)
}

// Copy creates an instance from another instance (running or not) or from a snapshot: a complete, independent
// copy of the root filesystem, the source's configuration with fresh volatile keys, and the copy templates
// rendered. On failure nothing is left.
func (m *Manager) Copy(ctx context.Context, args CopyArgs) error {
	src, err := m.loadCopySource(ctx, args.Source)
	if err != nil {
		return err
	}

	create := copyCreateArgs(src, args)
	err = m.ValidateCreate(ctx, &create)
	if err != nil {
		return err
	}

	unlock := m.lock(args.Name)
	defer unlock()

	r := revert.New()
	defer r.Fail()

	config := maps.Clone(create.Config)
	if src.instance.Config[KeyBaseImage] != "" {
		config[KeyBaseImage] = src.instance.Config[KeyBaseImage]
	}

	// The copied root filesystem is shifted as its source's until copyIDMap shifts it to the copy's map.
	config[KeyLastIdmap] = src.instance.Config[KeyLastIdmap]
	if src.config[KeyLastIdmap] != "" {
		config[KeyLastIdmap] = src.config[KeyLastIdmap]
	}

	if config[KeyLastIdmap] == "" {
		delete(config, KeyLastIdmap)
	}

	inst := newInstanceRow(args.Name, src.instance.Architecture, create.Ephemeral, create.Description, config,
		create.Devices, create.Profiles)
	var expanded map[string]string
	var devices map[string]map[string]string
	// A copy runs privileged exactly when its source does. Its templates see the configuration and devices
	// expanded here, before the volatile keys of a new instance are added.
	sameIDMap := func(ctx context.Context, tx *db.Tx, profiles []Profile) error {
		srcProfiles, err := loadProfiles(ctx, tx, src.instance.Profiles)
		if err != nil {
			return err
		}

		srcExpanded, _ := Expand(srcProfiles, src.instance.Config, src.instance.Devices)
		expanded, devices = Expand(profiles, config, create.Devices)
		if m.privileged(expanded) != m.privileged(srcExpanded) {
			return errs.Invalid("a copy cannot change security.privileged")
		}

		return nil
	}

	_, err = m.createRecord(ctx, r, inst, images.TriggerCopy, "copy", sameIDMap)
	if err != nil {
		return err
	}

	err = m.createNICs(ctx, r, args.Name, expanded, devices)
	if err != nil {
		return err
	}

	srcName := src.instance.Name
	root := filepath.Join(m.pool.SnapshotPath(srcName, src.snapshot), "rootfs")
	if src.snapshot == "" {
		unlockSrc := m.lock(srcName)
		mounted := m.pool.IsMounted(srcName)
		root, err = m.pool.Mount(srcName)
		if err != nil {
			unlockSrc()
			return err
		}

		defer func() {
			if !mounted {
				_ = m.pool.Unmount(srcName)
			}

			unlockSrc()
		}()
	}

	_, rootDisk, _ := RootDisk(devices)
	err = m.pool.CreateContainerFrom(storage.ContainerArgs{Pool: rootDisk["pool"], Name: args.Name,
		Size: rootDisk["size"]}, root)
	if err != nil {
		return err
	}

	m.undoStorage(r, args.Name, "copy")
	storage.CrashPoint("copy-storage-created")

	expanded, err = m.copyIDMap(ctx, args.Name, expanded, config)
	if err != nil {
		return err
	}

	err = copyTemplatesIn(m.templatesSource(srcName, src.snapshot), m.pool.ContainerPath(args.Name))
	if err != nil {
		return err
	}

	if !args.Move {
		rootUID, rootGID := m.rootIDs(expanded)
		err = m.applyTemplates(args.Name, images.TriggerCopy, tplInstance(&inst, expanded, devices), rootUID, rootGID)
		if err != nil {
			return err
		}
	}

	m.setVolatile(ctx, args.Name, map[string]string{KeyApplyTemplate: ""})

	if src.snapshot == "" && !args.InstanceOnly {
		r.Add(func() { _ = m.pool.DeleteSnapshots(args.Name) })
		err = m.copySnapshots(ctx, srcName, args.Name)
		if err != nil {
			return err
		}
	}

	r.Success()
	return nil
}

// copySnapshots copies every snapshot of an instance, rows and storage, to another instance.
func (m *Manager) copySnapshots(ctx context.Context, from string, to string) error {
	var snaps []db.Snapshot
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		snaps, err = tx.GetSnapshots(ctx, from)
		return err
	})
	if err != nil {
		return err
	}

	for _, snap := range snaps {
		// Storage first, built apart and renamed into place, then the row: a crash in between leaves complete
		// storage without a row, which the next start removes.
		err = m.pool.CopySnapshot(from, to, snap.Name)
		if err != nil {
			return err
		}

		snap.Instance = to
		config := map[string]string{}
		for k, v := range snap.Config {
			if !strings.HasPrefix(k, "volatile.") || k == KeyBaseImage || k == KeyLastIdmap {
				config[k] = v
			}
		}

		snap.Config = config
		err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			_, err := tx.CreateSnapshot(ctx, snap)
			return err
		})
		if err != nil {
			return err
		}
	}

	return nil
}
