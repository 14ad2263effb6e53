package image

import (
	"context"
	"errors"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// FetchFiles copies the files of image fp from another cluster member (server) into the store, validated against the
// fingerprint, when the store does not hold them yet: the database records the image for every member, its files
// are on the members that used it.
func (m *Manager) FetchFiles(ctx context.Context, server client.ImageServer, fp string) error {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()

	_, _, err := m.store.Paths(fp)
	if err == nil {
		return nil
	}

	if !errors.Is(err, errs.ErrNotFound) {
		return err
	}

	pending, err := m.download(ctx, &pullSource{server: server}, &api.Image{Fingerprint: fp}, nil)
	if err != nil {
		return err
	}

	err = pending.Commit()
	if err != nil {
		return err
	}

	pending.PublishBase()
	return nil
}
