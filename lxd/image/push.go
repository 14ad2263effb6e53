package image

import (
	"fmt"
	"os"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/version"
)

// Push uploads image fp to the server req names, as an untrusted caller holding the upload secret that server
// handed out, and waits for it to store the image. Progress receives the upload's progress.
func (m *Manager) Push(fp string, req api.ImageExportPost, progress Progress) error {
	target, err := client.ConnectLXD(req.Target, &client.ConnectionArgs{TLSServerCert: req.Certificate, UserAgent: version.UserAgent()})
	if err != nil {
		return fmt.Errorf("connect to %s: %w", req.Target, err)
	}

	meta, rootfs, err := m.store.Paths(fp)
	if err != nil {
		return err
	}

	metaFile, err := os.Open(meta)
	if err != nil {
		return err
	}

	defer func() { _ = metaFile.Close() }()
	args := &client.ImageCreateArgs{
		MetaFile:        metaFile,
		MetaName:        fp,
		Secret:          req.Secret,
		Fingerprint:     fp,
		ProgressHandler: downloadReporter(progress),
	}

	if rootfs != "" {
		rootfsFile, err := os.Open(rootfs)
		if err != nil {
			return err
		}

		defer func() { _ = rootfsFile.Close() }()
		args.RootfsFile = rootfsFile
		args.RootfsName = fp + ".rootfs"
	}

	upload, err := target.CreateImage(api.ImagesPost{}, args)
	if err != nil {
		return fmt.Errorf("push to %s: %w", req.Target, err)
	}

	secret, _ := upload.Get().Metadata["secret"].(string)
	result, _, err := target.GetOperationWaitSecret(upload.Get().ID, secret, -1)
	if err != nil {
		return fmt.Errorf("push to %s: %w", req.Target, err)
	}

	if result.StatusCode != api.Success {
		return fmt.Errorf("push to %s: %s", req.Target, result.Err)
	}

	return nil
}
