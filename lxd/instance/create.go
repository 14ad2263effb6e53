package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
	"github.com/lxd-go/lxd/shared/revert"
)

// ResolveImage finds a local image of project imagesProject (the project whose images an instance of its project
// uses) by alias or fingerprint prefix.
func (m *Manager) ResolveImage(ctx context.Context, imagesProject string, alias string, fingerprint string) (*db.Image, error) {
	var img *db.Image
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		tx = tx.InProject(imagesProject)
		target := fingerprint
		if alias != "" {
			a, err := tx.GetImageAlias(ctx, alias)
			if err != nil {
				return err
			}

			target = a.Target
		}

		if target == "" {
			return fmt.Errorf("no image alias or fingerprint given: %w", errs.ErrInvalid)
		}

		var err error
		img, err = tx.GetImageByPrefix(ctx, target, db.ImageFilter{})
		if err != nil && fingerprint != "" && alias == "" && errors.Is(err, errs.ErrNotFound) {
			// A copy by alias sends the alias in the fingerprint field.
			a, aerr := tx.GetImageAlias(ctx, fingerprint)
			if aerr == nil {
				img, err = tx.GetImageByPrefix(ctx, a.Target, db.ImageFilter{})
			}
		}

		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		name := alias
		if name == "" {
			name = fingerprint
		}

		return nil, errs.NotFound("image %q not found", name)
	}

	if err != nil {
		return nil, err
	}

	return img, nil
}

// CreateArgs describe a new instance.
type CreateArgs struct {
	Name        string
	Description string
	Ephemeral   bool
	Config      map[string]string
	Devices     map[string]map[string]string
	Profiles    []string

	// Image is the source image; nil creates an empty instance.
	Image *db.Image
}

// ValidateCreate checks a creation request against the database before any work starts.
func (m *Manager) ValidateCreate(ctx context.Context, args *CreateArgs) error {
	err := ValidName(project.InstanceName(args.Name))
	if err != nil {
		return err
	}

	if args.Config == nil {
		args.Config = map[string]string{}
	}

	if args.Devices == nil {
		args.Devices = map[string]map[string]string{}
	}

	err = ValidateConfig(args.Config, false, false)
	if err != nil {
		return err
	}

	err = ValidateDevices(args.Devices)
	if err != nil {
		return err
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetInstance(ctx, args.Name)
		if err == nil {
			return errs.Conflict("instance %q already exists", args.Name)
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		profiles, err := loadProfiles(ctx, tx, args.Profiles)
		if err != nil {
			return err
		}

		config, devices := Expand(profiles, args.Config, args.Devices)
		err = project.CheckNewInstance(ctx, tx, args.Name, config, devices)
		if err != nil {
			return err
		}

		err = m.checkNICNetworks(devices)
		if err != nil {
			return err
		}

		err = checkRootDisk(devices, m.pool)
		if err != nil {
			return err
		}

		return checkVolumeDisks(ctx, tx, args.Name, devices)
	})
}

// Create creates an instance: its row, its base (unpacked once per image), its overlay root and the create
// templates. On failure nothing is left. progress receives operation metadata updates.
func (m *Manager) Create(ctx context.Context, args CreateArgs, progress func(map[string]any)) error {
	unlock := m.lock(args.Name)
	defer unlock()

	r := revert.New()
	defer r.Fail()

	config := maps.Clone(args.Config)
	if config == nil {
		config = map[string]string{}
	}

	arch := osarch.Host()
	ociUser := ""
	var err error
	if args.Image != nil {
		err = m.fetchImage(ctx, args.Image.Fingerprint)
		if err != nil {
			return err
		}

		arch = args.Image.Architecture
		config[KeyBaseImage] = args.Image.Fingerprint
		for k, v := range args.Image.Properties {
			config["image."+k] = v
		}

		if IsOCI(config) {
			ociUser, err = m.ociCreateConfig(args.Image.Fingerprint, config)
			if err != nil {
				return err
			}
		}
	}

	inst := newInstanceRow(args.Name, arch, args.Ephemeral, args.Description, config, args.Devices, args.Profiles)
	trigger := ""
	if args.Image != nil {
		trigger = images.TriggerCreate
	}

	profiles, err := m.createRecord(ctx, r, inst, trigger, "instance", nil)
	if err != nil {
		return err
	}

	expanded, devices := Expand(profiles, config, args.Devices)
	err = m.createNICs(ctx, r, args.Name, expanded, devices)
	if err != nil {
		return err
	}

	_, rootDisk, _ := RootDisk(devices)
	base := ""
	if args.Image != nil {
		base, err = m.ensureBase(ctx, rootDisk["pool"], args.Image.Fingerprint, m.diskIDMap(expanded), progress)
		if err != nil {
			return err
		}
	}

	rootUID, rootGID := m.rootIDs(expanded)
	err = m.pool.CreateContainer(storage.ContainerArgs{Pool: rootDisk["pool"], Name: args.Name, Base: base,
		RootUID: rootUID, RootGID: rootGID, Size: rootDisk["size"]})
	if err != nil {
		return err
	}

	m.undoStorage(r, args.Name, "instance")

	if args.Image != nil {
		err = m.saveTemplates(ctx, args.Name, args.Image.Fingerprint, base)
		if err != nil {
			return err
		}

		rootfs, err := m.pool.MountTransient(args.Name)
		if err != nil {
			return err
		}

		if ociUser != "" {
			err = m.setOCIUser(ctx, args.Name, rootfs, ociUser)
			if err != nil {
				_ = m.pool.Unmount(args.Name)
				return err
			}
		}

		err = m.applyTemplates(args.Name, images.TriggerCreate, tplInstance(&inst, expanded, devices), rootUID, rootGID)
		unmountErr := m.pool.Unmount(args.Name)
		if err != nil {
			return err
		}

		if unmountErr != nil {
			return unmountErr
		}

		m.setVolatile(ctx, args.Name, map[string]string{KeyApplyTemplate: ""})
	}

	r.Success()
	return nil
}

// newInstanceRow returns the row of a new container, with a fresh UUID. config is kept, not copied: createRecord
// adds the volatile keys of a new instance to it.
func newInstanceRow(name string, arch string, ephemeral bool, description string, config map[string]string,
	devices map[string]map[string]string, profiles []string) db.Instance {
	config[KeyUUID] = newUUID()
	return db.Instance{
		Name:         name,
		Type:         api.InstanceTypeContainer,
		Architecture: arch,
		Ephemeral:    ephemeral,
		Description:  description,
		CreatedAt:    time.Now().UTC(),
		Config:       config,
		Devices:      devices,
		Profiles:     profiles,
	}
}

// createRecord is the first step of a creation or a copy: in one transaction it loads the instance's profiles, runs
// check (when not nil) on them, gives the configuration the volatile keys of a new instance (its id map when it is
// unprivileged, a stopped power state, and trigger, when not empty, as the templates still to render) and creates
// the row. The removal of the row is added to r; what names the kind of creation in its log. It returns the
// profiles.
func (m *Manager) createRecord(ctx context.Context, r *revert.Reverter, inst db.Instance, trigger string, what string,
	check func(ctx context.Context, tx *db.Tx, profiles []Profile) error) ([]Profile, error) {
	config := inst.Config
	var profiles []Profile
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return err
		}

		if check != nil {
			err = check(ctx, tx, profiles)
			if err != nil {
				return err
			}
		}

		// The limits of the instance's project are checked in the transaction that creates it.
		expanded, expandedDevices := Expand(profiles, config, inst.Devices)
		err = project.CheckNewInstance(ctx, tx, inst.Name, expanded, expandedDevices)
		if err != nil {
			return err
		}

		next, base, err := m.nextIDMap(ctx, tx, inst.Name, expanded)
		if err != nil {
			return err
		}

		// A new root filesystem is shifted to the block of the map (image bases are); a copy's, to its source's.
		setIDMapKeys(config, next, base)
		if next != nil && config[KeyLastIdmap] == "" {
			config[KeyLastIdmap] = next.Block().JSON()
		}

		config[KeyLastStatePower] = "STOPPED"
		if trigger != "" {
			config[KeyApplyTemplate] = trigger
		}

		_, err = tx.CreateInstance(ctx, inst)
		return err
	})
	if err != nil {
		return nil, err
	}

	r.Add(func() {
		err := m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteInstance(ctx, inst.Name)
		})
		if err != nil {
			slog.Error("failed removing the record of a failed "+what, "instance", inst.Name, "err", err)
			return
		}

		// The row is gone: the tombstone of storage removed by undoStorage has done its job.
		err = m.pool.RemoveTombstones(inst.Name)
		if err != nil {
			slog.Warn("failed removing the tombstone of a failed "+what, "instance", inst.Name, "err", err)
		}
	})

	return profiles, nil
}

// fetchImage makes sure the store holds the files of image fp, copying them from where they are (FetchImage) when
// it does not.
func (m *Manager) fetchImage(ctx context.Context, fp string) error {
	_, _, err := m.images.Paths(fp)
	if err == nil || m.fetch == nil || !errors.Is(err, errs.ErrNotFound) {
		return nil
	}

	return m.fetch(ctx, fp)
}

// undoStorage adds to r the removal of the storage of a failed creation or copy (what names which).
func (m *Manager) undoStorage(r *revert.Reverter, name string, what string) {
	r.Add(func() {
		err := m.pool.DeleteContainer(name)
		if err != nil {
			slog.Error("failed removing the storage of a failed "+what, "instance", name, "err", err)
		}
	})
}

// rootIDs returns the host uid and gid of the root of a container with the expanded configuration.
func (m *Manager) rootIDs(expanded map[string]string) (int, int) {
	idmap := m.diskIDMap(expanded)
	if idmap == nil {
		return 0, 0
	}

	return int(idmap.HostUID), int(idmap.HostGID)
}

// ensureBase unpacks an image's base once; shifted bases belong to unprivileged containers, one per map block
// (idmap nil for none).
func (m *Manager) ensureBase(ctx context.Context, pool string, fp string, idmap *IDMap, progress func(map[string]any)) (string, error) {
	base := baseName(fp, idmap)
	opts := baseUnpackOptions(idmap)

	start := time.Now()
	unpacked, err := m.pool.EnsureBase(ctx, pool, base, func(ctx context.Context, dest string) error {
		if progress != nil {
			progress(map[string]any{
				"create_instance_from_image_unpack_progress": "Unpack: 0%",
				"progress": map[string]string{"stage": "create_instance_from_image_unpack", "percent": "0"},
			})
		}

		set := &images.TemplateSet{}
		opts.Templates = set
		err := m.images.Unpack(ctx, fp, dest, opts)
		if err != nil {
			return err
		}

		return keepBaseTemplates(filepath.Dir(dest), set)
	})
	if err != nil {
		return "", fmt.Errorf("unpacking image %s: %w", fp, err)
	}

	if unpacked {
		slog.Info("unpacked image base", "fingerprint", fp, "base", base, "elapsed", time.Since(start))
	}

	return base, nil
}

// PruneBases removes the bases whose image is gone and that no instance uses, and the tombstones of instances
// whose deletion is complete (their row is gone too); Delete calls it once the row is gone.
func (m *Manager) PruneBases(ctx context.Context) error {
	bases, err := m.pool.Bases()
	if err != nil {
		return err
	}

	var live map[string]bool
	used := map[string]bool{}
	rows := map[string]bool{}
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, db.ImageFilter{AllProjects: true})
		if err != nil {
			return err
		}

		live = map[string]bool{}
		for _, img := range imgs {
			live[img.Fingerprint] = true
		}

		insts, err := tx.GetLocalInstances(ctx)
		if err != nil {
			return err
		}

		for _, inst := range insts {
			rows[inst.Name] = true
			base, err := m.pool.ContainerBase(inst.Name)
			if err == nil && base != "" {
				used[base] = true
			}
		}

		return nil
	})
	if err != nil {
		return err
	}

	var deleted []string
	for name := range m.pool.DeletedContainers() {
		if !rows[name] {
			deleted = append(deleted, name)
		}
	}

	if len(deleted) > 0 {
		err = m.pool.RemoveTombstones(deleted...)
		if err != nil {
			return err
		}
	}

	for _, base := range bases {
		if live[storage.BaseImage(base)] || used[base] {
			continue
		}

		slog.Info("removing unused image base", "base", base)
		err = m.pool.DeleteBase(base)
		if err != nil {
			return err
		}
	}

	return nil
}
