package image

import (
	"context"
	"os"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/simplestreams"
)

// PublicSourceImages lists the public images with the files a simplestreams tree offers for them.
func (m *Manager) PublicSourceImages(ctx context.Context) ([]simplestreams.SourceImage, error) {
	public := true
	var imgs []db.Image
	var aliases []db.ImageAlias
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{Public: &public})
		if err != nil {
			return err
		}

		aliases, err = tx.GetImageAliases(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	byTarget := map[string][]db.ImageAlias{}
	for _, a := range aliases {
		byTarget[a.Target] = append(byTarget[a.Target], a)
	}

	out := make([]simplestreams.SourceImage, 0, len(imgs))
	for i := range imgs {
		fp := imgs[i].Fingerprint
		src, err := m.sourceImage(fp)
		if err != nil {
			return nil, err
		}

		src.Image = imgs[i].ToAPI(byTarget[fp])
		out = append(out, *src)
	}

	return out, nil
}

// sourceImage describes the files of a stored image as a simplestreams tree offers them.
func (m *Manager) sourceImage(fp string) (*simplestreams.SourceImage, error) {
	meta, rootfs, err := m.Files(fp)
	if err != nil {
		return nil, err
	}

	hashes, err := m.store.Hashes(fp)
	if err != nil {
		return nil, err
	}

	info, err := os.Stat(meta.Path)
	if err != nil {
		return nil, err
	}

	src := &simplestreams.SourceImage{}
	src.Meta = simplestreams.FileInfo{Name: meta.Name, SHA256: hashes.Meta, Size: info.Size()}
	if rootfs == nil {
		return src, nil
	}

	rootInfo, err := os.Stat(rootfs.Path)
	if err != nil {
		return nil, err
	}

	src.Rootfs = &simplestreams.FileInfo{Name: rootfs.Name, SHA256: hashes.Rootfs, Size: rootInfo.Size()}
	return src, nil
}

// PublicFile returns the path of the file name (as a simplestreams tree lists it) of the public image fp. Anything
// else, a private image included, is errs.NotFound("not found").
func (m *Manager) PublicFile(ctx context.Context, fp string, name string) (string, error) {
	img, err := m.existing(ctx, fp)
	if err != nil || img == nil || !img.Public {
		return "", errs.NotFound("not found")
	}

	meta, rootfs, err := m.Files(fp)
	if err != nil {
		return "", err
	}

	switch {
	case name == meta.Name:
		return meta.Path, nil
	case rootfs != nil && name == rootfs.Name:
		return rootfs.Path, nil
	}

	return "", errs.NotFound("not found")
}
