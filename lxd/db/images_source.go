package db

import (
	"context"
	"fmt"
)

// SetImageSource records src as the server the image was pulled from, replacing the source recorded before, if any.
func (t *Tx) SetImageSource(ctx context.Context, fingerprint string, src ImageSource) error {
	id, err := t.imageID(ctx, fingerprint)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, `INSERT INTO images_source (image_id, server, protocol, certificate, alias, image_type)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (image_id) DO UPDATE SET server = excluded.server, protocol = excluded.protocol,
certificate = excluded.certificate, alias = excluded.alias, image_type = excluded.image_type`,
		id, src.Server, src.Protocol, src.Certificate, src.Alias, src.ImageType)
	if err != nil {
		return fmt.Errorf("recording the source of image %q: %w", fingerprint, err)
	}

	return nil
}
