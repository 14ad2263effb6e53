package instance

import (
	"context"
	"errors"
	"log/slog"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/storage"
)

// baseName is the name of the base of image fp for containers with the id map idmap (nil for none).
func baseName(fp string, idmap *IDMap) string {
	if idmap == nil {
		return fp
	}

	block := idmap.Block()
	return storage.BaseName(fp, block.HostUID, block.HostGID)
}

// baseUnpackOptions are the options a base is unpacked with for containers with the id map idmap (nil for none):
// shifted to the map's block, or unshifted with the allowed device nodes.
func baseUnpackOptions(idmap *IDMap) images.UnpackOptions {
	if idmap == nil {
		return images.UnpackOptions{Devices: true}
	}

	return images.UnpackOptions{Shift: idmap.Block().Shift}
}

// StageImportBase stages the base that a container of the default profile would be built on, for an image being
// imported to fill (see images.BaseStager): on the pool of the profile's root disk, shifted as that container's
// would be. It returns nil when the default profile has no root disk on a pool.
func (m *Manager) StageImportBase(ctx context.Context) (images.BaseStage, error) {
	var profiles []Profile
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, []string{"default"})
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	expanded, devices := Expand(profiles, nil, nil)
	_, root, ok := RootDisk(devices)
	if !ok || root["pool"] == "" {
		return nil, nil
	}

	staged, err := m.pool.StageBase(root["pool"])
	if err != nil {
		return nil, err
	}

	return &importStage{staged: staged, idmap: m.diskIDMap(expanded)}, nil
}

// importStage is a staged base an import fills.
type importStage struct {
	staged *storage.StagedBase
	idmap  *IDMap
}

func (s *importStage) Rootfs() string {
	return s.staged.Rootfs()
}

func (s *importStage) Options() images.UnpackOptions {
	return baseUnpackOptions(s.idmap)
}

// Publish keeps the image's templates with the base, as the first launch's unpack does, and publishes it.
func (s *importStage) Publish(fp string, templates *images.TemplateSet) error {
	err := keepBaseTemplates(s.staged.Dir(), templates)
	if err != nil {
		s.staged.Discard()
		return err
	}

	base := baseName(fp, s.idmap)
	published, err := s.staged.Publish(base)
	if err != nil {
		return err
	}

	if published {
		slog.Info("wrote image base while importing", "fingerprint", fp, "base", base)
	}

	return nil
}

func (s *importStage) Discard() {
	s.staged.Discard()
}
