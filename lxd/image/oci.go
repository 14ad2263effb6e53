package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/oci"
	"github.com/lxd-go/lxd/shared/api"
	registry "github.com/lxd-go/lxd/shared/oci"
	"github.com/lxd-go/lxd/shared/version"
)

// ProtocolOCI is the protocol of OCI and Docker registries.
const ProtocolOCI = "oci"

// ociBlobs holds the blob store of OCI images, next to the image store ($LXD_DIR/oci), opened on first use.
type ociBlobs struct {
	once  sync.Once
	store *oci.Store
	err   error

	// configure, if set, adjusts every registry connection (tests trust their own registry through it).
	configure func(*registry.Registry)
}

// ociStore returns the blob store of OCI images.
func (m *Manager) ociStore() (*oci.Store, error) {
	m.oci.once.Do(func() {
		m.oci.store, m.oci.err = oci.NewStore(filepath.Join(filepath.Dir(m.store.Dir()), "oci"))
	})

	return m.oci.store, m.oci.err
}

// ociRegistry connects to the registry of an image source.
func (m *Manager) ociRegistry(server string) (*registry.Registry, error) {
	reg, err := registry.NewRegistry(server)
	if err != nil {
		return nil, errs.Invalid("%v", err)
	}

	reg.UserAgent = version.UserAgent()
	if m.oci.configure != nil {
		m.oci.configure(reg)
	}

	return reg, nil
}

// pullOCI is pull for an OCI registry: the image is resolved to the manifest of the host's architecture, and one
// the store holds (by its layers' fingerprint) is not downloaded again. Otherwise its missing blobs are downloaded
// and checked, its layers applied, and the result stored with the properties Incus gives OCI images and its source
// recorded (protocol oci, alias the image name), so that a later creation from the same name uses the copy here.
func (m *Manager) pullOCI(ctx context.Context, req api.ImagesPost, args PullArgs) (*db.Image, *db.ImageSource, error) {
	reg, err := m.ociRegistry(req.Source.Server)
	if err != nil {
		return nil, nil, err
	}

	name := req.Source.Alias
	if name == "" {
		name = req.Source.Fingerprint
	}

	info, err := reg.Inspect(ctx, name)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil, notFound{err}
	}

	if err != nil {
		return nil, nil, err
	}

	source := &db.ImageSource{Server: req.Source.Server, Protocol: ProtocolOCI, Alias: name, ImageType: "container"}
	img, err := m.existing(ctx, info.Fingerprint)
	if err != nil {
		return nil, nil, err
	}

	if img != nil {
		report(args.Progress, Result(img))
		return img, source, nil
	}

	props := info.Properties()
	maps.Copy(props, req.Properties)
	storeArgs := pulledArgs(req, props, source, args)
	img, err = m.adoptPulled(ctx, info.Fingerprint, storeArgs, args.Progress)
	if err != nil || img != nil {
		return img, nil, err
	}

	blobs, err := m.ociStore()
	if err != nil {
		return nil, nil, err
	}

	reportText := func(text string) { report(args.Progress, map[string]any{"download_progress": text}) }
	pending, err := blobs.Pull(ctx, info, m.store, reportText)
	if err != nil {
		m.forgetOCI(info.Fingerprint)
		return nil, nil, err
	}

	img, err = m.Store(ctx, pending, storeArgs)
	if errors.Is(err, errs.ErrConflict) {
		// A concurrent pull of the same image stored it first.
		img, existErr := m.existing(ctx, info.Fingerprint)
		if existErr == nil && img != nil {
			report(args.Progress, Result(img))
			return img, source, nil
		}
	}

	if err != nil {
		if !errors.Is(err, errs.ErrConflict) {
			m.forgetOCI(info.Fingerprint)
		}

		return nil, nil, err
	}

	report(args.Progress, Result(img))
	return img, nil, nil
}

// forgetOCI drops the blob record of an OCI image no longer (or never) in the store, and the blobs only it needed.
func (m *Manager) forgetOCI(fp string) {
	blobs, err := m.ociStore()
	if err != nil {
		return
	}

	err = blobs.Forget(fp)
	if err != nil {
		slog.Warn("failed removing the blobs of an OCI image", "fingerprint", fp, "err", err)
	}
}

// reconcileOCI forgets the blob records of the OCI images the database no longer has.
func (m *Manager) reconcileOCI(known map[string]bool) error {
	blobs, err := m.ociStore()
	if err != nil {
		return err
	}

	return blobs.Reconcile(func(fp string) bool { return known[fp] })
}

// notFound keeps the registry's words and gives them the class errs.ErrNotFound.
type notFound struct{ err error }

func (e notFound) Error() string { return e.err.Error() }

func (e notFound) Unwrap() []error { return []error{e.err, errs.ErrNotFound} }

// ExportHash returns, for an image whose fingerprint is not the sha256 of its files (one made from an OCI registry
// image, whose fingerprint is derived from its layers), the sha256 of the files as an export serves them
// (images.FileHashes.Content, hashed once). A client checks such a download against it instead of the fingerprint.
// For any other image it returns "": the fingerprint is that hash.
func (m *Manager) ExportHash(img *api.Image) (string, error) {
	if img.Properties["type"] != ProtocolOCI {
		return "", nil
	}

	hashes, err := m.store.Hashes(img.Fingerprint)
	if err != nil {
		return "", err
	}

	if hashes.Content == img.Fingerprint {
		return "", nil
	}

	return hashes.Content, nil
}

// OpenLayout prepares the OCI image img to be written as an OCI image layout (oci.Store.OpenLayout), for another
// server to copy it with each blob checked and its fingerprint recomputed from the layers. The caller closes it.
func (m *Manager) OpenLayout(img *api.Image) (*oci.Layout, error) {
	if img.Properties["type"] != ProtocolOCI {
		return nil, errs.Invalid("image %s is not an OCI image", img.Fingerprint)
	}

	meta, _, err := m.store.Paths(img.Fingerprint)
	if err != nil {
		return nil, err
	}

	raw, err := images.ReadOCIConfig(meta)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Fingerprint, err)
	}

	blobs, err := m.ociStore()
	if err != nil {
		return nil, err
	}

	return blobs.OpenLayout(img.Fingerprint, img.Properties["id"], raw)
}

// layoutServer is a server that serves its OCI images as OCI image layouts.
type layoutServer interface {
	HasExtension(name string) bool
	GetImageLayout(fingerprint string, secret string) (io.ReadCloser, error)
}

// pullLayout copies the OCI image info from another server as an OCI image layout (oci.Store.ReadLayout): each
// blob checked against its digest, the fingerprint recomputed from the layers and compared with info's, the image
// built from the blobs as a registry pull builds it. A failure forgets the blobs only this image needed. It returns
// client.ErrNoLayout when the server has no layers for the image.
func (m *Manager) pullLayout(ctx context.Context, src *pullSource, info *api.Image, progress Progress) (*images.Pending, error) {
	server, ok := src.server.(layoutServer)
	if !ok || !server.HasExtension(api.ExtensionImageExportOCILayout) {
		return nil, client.ErrNoLayout
	}

	blobs, err := m.ociStore()
	if err != nil {
		return nil, err
	}

	rc, err := server.GetImageLayout(info.Fingerprint, src.secret)
	if errors.Is(err, client.ErrNoLayout) {
		return nil, err
	}

	if err != nil {
		return nil, fmt.Errorf("failed remote image download: %w", err)
	}

	defer func() { _ = rc.Close() }()
	report(progress, map[string]any{"download_progress": "Copying the OCI image layers"})
	repository := strings.TrimSuffix(info.Properties["description"], " (OCI)")
	img, err := blobs.ReadLayout(ctx, rc, info.Fingerprint, info.Properties["id"], repository)
	if err != nil {
		m.forgetOCI(info.Fingerprint)
		return nil, err
	}

	reportText := func(text string) { report(progress, map[string]any{"download_progress": text}) }
	pending, err := blobs.Pull(ctx, img, m.store, reportText)
	if err != nil {
		m.forgetOCI(info.Fingerprint)
		return nil, err
	}

	return pending, nil
}
