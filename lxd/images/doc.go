// Package images is the image content library: it detects the compression of image files, validates unified and
// split images in one streaming pass while they are uploaded, keeps them in a content-addressed store under
// $LXD_DIR/images, and unpacks their root filesystems through an os.Root so nothing is written outside the target.
//
// The package knows nothing about HTTP or the database: the REST layer streams the request body into
// Store.ImportUnified or Store.ImportSplit, records the returned Pending in the database, and then calls
// Pending.Commit (or Pending.Abort). Errors caused by the image itself wrap errs.ErrInvalid; a duplicate
// fingerprint wraps errs.ErrConflict. An import asked to (ImportOptions.WriteBase) also writes the image's base into
// a base staged by the store's BaseStager, as it validates the rootfs; Pending.PublishBase publishes it once the
// image is recorded.
package images
