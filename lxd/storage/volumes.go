package storage

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
)

// The types of storage volumes, as the API names them.
const (
	VolumeTypeCustom    = "custom"
	VolumeTypeContainer = "container"
	VolumeTypeImage     = "image"
	VolumeTypeVM        = "virtual-machine"
)

// Custom volumes live in each pool as custom/<id> (a directory, or a subvolume on btrfs) and their snapshots as
// custom-snapshots/<volume id>/<snapshot id>, where the ids are those of the volume's and the snapshot's rows.
// Naming the storage after the rows makes a rename a change of the row alone, and lets the start tell storage
// that a crash left without a committed row (it is removed, see repairVolumes) from a volume.
const (
	customDir         = "custom"
	customSnapshotDir = "custom-snapshots"
)

// ValidateVolumeType checks the type of a volume named in a request.
func ValidateVolumeType(volType string) error {
	switch volType {
	case VolumeTypeCustom, VolumeTypeContainer, VolumeTypeImage, VolumeTypeVM:
		return nil
	}

	return errs.Invalid("invalid storage volume type %q (custom, container, image or virtual-machine)", volType)
}

// ValidateVolumeName checks the name of a custom volume or of a snapshot (what is called).
func ValidateVolumeName(what string, name string) error {
	if name == "" {
		return errs.Invalid("no %s name given", what)
	}

	if name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") || len(name) > 63 {
		return errs.Invalid("invalid %s name %q", what, name)
	}

	for _, c := range name {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("/\\\"'$*?[]{}<>|&;`:", c) {
			return errs.Invalid("invalid %s name %q: %q is not allowed", what, name, c)
		}
	}

	return nil
}

// volumeKeys are the configuration keys of a custom filesystem volume, besides user.* and volatile.*.
var volumeKeys = map[string]bool{"size": true}

// validateVolumeConfig checks the configuration of a custom volume.
func validateVolumeConfig(config map[string]string) error {
	for k, v := range config {
		switch {
		case volumeKeys[k]:
		case strings.HasPrefix(k, "user.") && len(k) > len("user."):
			continue
		case strings.HasPrefix(k, "volatile."):
			continue
		default:
			return errs.Invalid("invalid storage volume configuration key %q", k)
		}

		if k == "size" && v != "" {
			_, err := ParseSize(v)
			if err != nil {
				return errs.Invalid("invalid value for %q: %q is not a size", k, v)
			}
		}
	}

	return nil
}

// VolumeURL is the API path of a volume of a pool.
func VolumeURL(pool string, volType string, name string) string {
	return "/1.0/storage-pools/" + url.PathEscape(pool) + "/volumes/" + volType + "/" + url.PathEscape(name)
}

// VolumeProject is the project that holds the volumes of type volType the view sees.
func (ps *Pools) VolumeProject(volType string) string {
	switch volType {
	case VolumeTypeCustom:
		return ps.customProject()
	case VolumeTypeContainer, VolumeTypeVM:
		return ps.instanceProject()
	}

	return db.DefaultProject
}

// VolumeURL is the API path of a volume of a pool as the view sees it, with the project that holds the volume.
func (ps *Pools) VolumeURL(pool string, volType string, name string) string {
	return project.WithProject(VolumeURL(pool, volType, name), ps.VolumeProject(volType))
}

// volumeDB is the database seen from the project whose custom volumes a view of the pools works on.
type volumeDB struct {
	db      *db.DB
	project string
}

// Transaction runs fn in a transaction whose storage volume methods see the custom volumes of the project.
func (d *volumeDB) Transaction(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) error) error {
	return d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return fn(ctx, tx.InProject(d.project))
	})
}

// volumeDB returns the database for the view's custom volumes, refusing when the pools are not managed.
func (ps *Pools) volumeDB() (*volumeDB, error) {
	svc, err := ps.service()
	if err != nil {
		return nil, err
	}

	return &volumeDB{db: svc.db, project: ps.customProject()}, nil
}

// Volumes returns the volumes of a pool of type volType ("" for all): the view's custom volumes followed each by
// their snapshots (named <volume>/<snapshot>), the containers of the view's project on the pool and the image bases
// of the images it reaches (image volumes belong to default, as LXD's); with AllProjects, those of every project.
func (ps *Pools) Volumes(ctx context.Context, pool string, volType string) ([]api.StorageVolume, error) {
	if volType != "" {
		err := ValidateVolumeType(volType)
		if err != nil {
			return nil, err
		}
	}

	d, err := ps.volumeDB()
	if err != nil {
		return nil, err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	out := []api.StorageVolume{}
	if volType == "" || volType == VolumeTypeCustom {
		err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			get := tx.GetStorageVolumes
			if ps.all {
				get = tx.GetAllStorageVolumes
			}

			rows, err := get(ctx, pool)
			if err != nil {
				return err
			}

			for _, row := range rows {
				vol, err := customVolumeAPI(ctx, tx.InProject(row.Project), row)
				if err != nil {
					return err
				}

				out = append(out, *vol)
				snaps, err := tx.GetStorageVolumeSnapshots(ctx, row.ID)
				if err != nil {
					return err
				}

				for _, s := range snaps {
					out = append(out, snapshotVolumeAPI(row, s))
				}
			}

			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	if volType == "" || volType == VolumeTypeContainer {
		names, err := p.Containers()
		if err != nil {
			return nil, err
		}

		for _, key := range names {
			if ps.all || project.InstanceProject(key) == ps.instanceProject() {
				out = append(out, containerVolumeAPI(key))
			}
		}
	}

	if volType == "" || volType == VolumeTypeImage {
		images, err := ps.projectImages(ctx)
		if err != nil {
			return nil, err
		}

		for _, vol := range imageVolumesAPI(p) {
			if images == nil || images[vol.Name] {
				out = append(out, vol)
			}
		}
	}

	return out, nil
}

// projectImages returns the fingerprints of the images the view's project reaches (its own with features.images,
// else default's), whose image volumes its lists show, as LXD's; nil in default, which sees every image volume.
func (ps *Pools) projectImages(ctx context.Context) (map[string]bool, error) {
	if ps.all || ps.instanceProject() == db.DefaultProject {
		return nil, nil
	}

	d, err := ps.volumeDB()
	if err != nil {
		return nil, err
	}

	images := map[string]bool{}
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		p, err := project.FeatureProjectOf(ctx, tx, ps.instanceProject(), "images")
		if err != nil {
			return err
		}

		rows, err := tx.InProject(p).GetImages(ctx, db.ImageFilter{})
		for _, img := range rows {
			images[img.Fingerprint] = true
		}

		return err
	})

	return images, err
}

// Volume returns one volume of a pool.
func (ps *Pools) Volume(ctx context.Context, pool string, volType string, name string) (*api.StorageVolume, error) {
	err := ValidateVolumeType(volType)
	if err != nil {
		return nil, err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	switch volType {
	case VolumeTypeContainer:
		key := project.InstanceKey(ps.instanceProject(), name)
		if strings.Contains(name, "_") || !exists(p.ContainerPath(key)) {
			return nil, errs.NotFound("storage volume container/%s not found on pool %q", name, pool)
		}

		vol := containerVolumeAPI(key)
		return &vol, nil
	case VolumeTypeImage:
		images, err := ps.projectImages(ctx)
		if err != nil {
			return nil, err
		}

		for _, vol := range imageVolumesAPI(p) {
			if vol.Name == name && (images == nil || images[name]) {
				return &vol, nil
			}
		}

		return nil, errs.NotFound("storage volume image/%s not found on pool %q", name, pool)
	case VolumeTypeVM:
		return nil, errs.NotFound("storage volume %s/%s not found on pool %q", volType, name, pool)
	}

	d, err := ps.volumeDB()
	if err != nil {
		return nil, err
	}

	var vol *api.StorageVolume
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := getCustomVolume(ctx, tx, pool, name)
		if err != nil {
			return err
		}

		vol, err = customVolumeAPI(ctx, tx, *row)
		return err
	})
	if err != nil {
		return nil, err
	}

	return vol, nil
}

// getCustomVolume reads the row of a custom volume, refusing a name with a snapshot part.
func getCustomVolume(ctx context.Context, tx *db.Tx, pool string, name string) (*db.StorageVolume, error) {
	if strings.Contains(name, "/") {
		return nil, errs.NotFound("storage volume custom/%s not found on pool %q", name, pool)
	}

	row, err := tx.GetStorageVolume(ctx, pool, VolumeTypeCustom, name)
	if err != nil {
		return nil, fmt.Errorf("storage volume custom/%s not found on pool %q: %w", name, pool, errs.ErrNotFound)
	}

	return row, nil
}

// customVolumeAPI renders a custom volume's row with its users.
func customVolumeAPI(ctx context.Context, tx *db.Tx, row db.StorageVolume) (*api.StorageVolume, error) {
	uses, err := tx.GetStorageVolumeDeviceUses(ctx, row.Pool, row.Name)
	if err != nil {
		return nil, err
	}

	config := maps.Clone(row.Config)
	if config == nil {
		config = map[string]string{}
	}

	return &api.StorageVolume{
		StorageVolumePut: api.StorageVolumePut{Config: config, Description: row.Description},
		Name:             row.Name,
		Type:             VolumeTypeCustom,
		UsedBy:           usedByURLs(uses),
		Location:         "none",
		Project:          row.Project,
		ContentType:      row.ContentType,
	}, nil
}

// ownerURL is the API path of the instance or profile of a device use.
func ownerURL(u db.DeviceUse) string {
	if u.Owner == "profile" {
		return project.ProfileURL(u.Name)
	}

	return project.InstanceURL(u.Name)
}

// usedByURLs lists the URLs of the instances and then the profiles of uses, each once.
func usedByURLs(uses []db.DeviceUse) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, owner := range []string{"instance", "profile"} {
		for _, u := range uses {
			url := ownerURL(u)
			if u.Owner == owner && !seen[url] {
				seen[url] = true
				out = append(out, url)
			}
		}
	}

	return out
}

// snapshotVolumeAPI renders a snapshot as the volume list shows it.
func snapshotVolumeAPI(row db.StorageVolume, s db.StorageVolumeSnapshot) api.StorageVolume {
	config := maps.Clone(s.Config)
	if config == nil {
		config = map[string]string{}
	}

	return api.StorageVolume{
		StorageVolumePut: api.StorageVolumePut{Config: config, Description: s.Description},
		Name:             row.Name + "/" + s.Name,
		Type:             VolumeTypeCustom,
		UsedBy:           []string{},
		Location:         "none",
		Project:          row.Project,
		ContentType:      row.ContentType,
	}
}

// containerVolumeAPI renders the volume of the container with key key.
func containerVolumeAPI(key string) api.StorageVolume {
	p, name := project.SplitInstanceKey(key)
	return api.StorageVolume{
		StorageVolumePut: api.StorageVolumePut{Config: map[string]string{}},
		Name:             name,
		Type:             VolumeTypeContainer,
		UsedBy:           []string{project.InstanceURL(key)},
		Location:         "none",
		Project:          p,
		ContentType:      "filesystem",
	}
}

// imageVolumesAPI lists the image bases of a pool as image volumes, one per image.
func imageVolumesAPI(p *Pool) []api.StorageVolume {
	bases, _ := p.Bases()
	seen := map[string]bool{}
	var fps []string
	for _, b := range bases {
		fp := BaseImage(b)
		if p.HasBase(b) && !seen[fp] {
			seen[fp] = true
			fps = append(fps, fp)
		}
	}

	sort.Strings(fps)
	out := []api.StorageVolume{}
	for _, fp := range fps {
		out = append(out, api.StorageVolume{
			StorageVolumePut: api.StorageVolumePut{Config: map[string]string{}},
			Name:             fp,
			Type:             VolumeTypeImage,
			UsedBy:           []string{"/1.0/images/" + fp},
			Location:         "none",
			Project:          "default",
			ContentType:      "filesystem",
		})
	}

	return out
}

// volumePath is the directory of the custom volume with row id id.
func (p *Pool) volumePath(id int64) string {
	return filepath.Join(p.dir, customDir, fmt.Sprint(id))
}

// volumeSnapshotsPath is the directory of the snapshots of the custom volume with row id id.
func (p *Pool) volumeSnapshotsPath(id int64) string {
	return filepath.Join(p.dir, customSnapshotDir, fmt.Sprint(id))
}

// volumeSnapshotPath is the directory of one snapshot of a custom volume.
func (p *Pool) volumeSnapshotPath(id int64, snapID int64) string {
	return filepath.Join(p.volumeSnapshotsPath(id), fmt.Sprint(snapID))
}

// refuseNonCustom refuses a change of a volume that is not a custom one.
func refuseNonCustom(volType string, what string) error {
	err := ValidateVolumeType(volType)
	if err != nil {
		return err
	}

	if volType != VolumeTypeCustom {
		return errs.Invalid("storage volumes of type %q cannot be %s here: only custom volumes can", volType, what)
	}

	return nil
}

// VolumeState returns the space a custom volume uses and its size limit (-1 for none).
func (ps *Pools) VolumeState(ctx context.Context, pool string, volType string, name string) (*api.StorageVolumeState, error) {
	vol, err := ps.Volume(ctx, pool, volType, name)
	if err != nil {
		return nil, err
	}

	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	var path string
	switch volType {
	case VolumeTypeContainer:
		key := project.InstanceKey(ps.instanceProject(), name)
		path = p.ContainerRootfs(key)
		if p.layered(key) {
			path = filepath.Join(p.ContainerPath(key), "upper")
		}
	case VolumeTypeImage:
		path = p.BaseRootfs(name)
	default:
		row, err := ps.customRow(ctx, pool, name)
		if err != nil {
			return nil, err
		}

		path = p.volumePath(row.ID)
	}

	used, err := p.drv.VolumeUsage(path)
	if err != nil {
		return nil, err
	}

	total := int64(-1)
	if vol.Config["size"] != "" {
		total, _ = ParseSize(vol.Config["size"])
	}

	return &api.StorageVolumeState{Usage: &api.StorageVolumeStateUsage{Used: uint64(used), Total: total}}, nil
}

// customRow reads the row of a custom volume.
func (ps *Pools) customRow(ctx context.Context, pool string, name string) (*db.StorageVolume, error) {
	d, err := ps.volumeDB()
	if err != nil {
		return nil, err
	}

	var row *db.StorageVolume
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err = getCustomVolume(ctx, tx, pool, name)
		return err
	})

	return row, err
}

// volumeUsers lists the URLs of the custom volumes of every project on a pool, which keep it from being deleted.
func (ps *Pools) volumeUsers(pool string) []string {
	svc, err := ps.service()
	if err != nil {
		return nil
	}

	var out []string
	_ = svc.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		rows, err := tx.GetAllStorageVolumes(ctx, pool)
		for _, row := range rows {
			out = append(out, project.WithProject(VolumeURL(pool, row.Type, row.Name), row.Project))
		}

		return err
	})

	return out
}
