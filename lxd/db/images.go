package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Image types.
const (
	ImageTypeContainer      = "container"
	ImageTypeVirtualMachine = "virtual-machine"
)

// Image is an image row with its properties and, for images pulled from
// another server, where it came from. Zero times mean "never" or "unknown".
type Image struct {
	ID           int64
	Fingerprint  string
	Project      string
	Filename     string
	Size         int64
	Public       bool
	Architecture string
	Type         string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UploadedAt   time.Time
	LastUsedAt   time.Time
	Cached       bool
	AutoUpdate   bool
	Properties   map[string]string
	Source       *ImageSource
}

// ImageSource is the server an image was pulled from, for auto-update.
type ImageSource struct {
	Server      string
	Protocol    string
	Certificate string
	Alias       string
	ImageType   string
}

// ImageFilter selects images of the transaction's project; nil fields match everything. AllProjects widens it to
// the images of every project (each project's record of a shared file counts once per project).
type ImageFilter struct {
	Public      *bool
	Cached      *bool
	AutoUpdate  *bool
	Fingerprint *string
	AllProjects bool
}

// ImageUpdate holds the writable fields of an image. Properties replaces the
// image's properties as a whole.
type ImageUpdate struct {
	Public     bool
	AutoUpdate bool
	ExpiresAt  time.Time
	Properties map[string]string
}

// where returns the SQL condition for the filter on the images table of project, and its arguments.
func (f ImageFilter) where(project string) (string, []any) {
	var conds []string
	var args []any
	if !f.AllProjects {
		conds = append(conds, "images.project = ?")
		args = append(args, project)
	}

	if f.Public != nil {
		conds = append(conds, "images.public = ?")
		args = append(args, *f.Public)
	}

	if f.Cached != nil {
		conds = append(conds, "images.cached = ?")
		args = append(args, *f.Cached)
	}

	if f.AutoUpdate != nil {
		conds = append(conds, "images.auto_update = ?")
		args = append(args, *f.AutoUpdate)
	}

	if f.Fingerprint != nil {
		conds = append(conds, "images.fingerprint = ?")
		args = append(args, *f.Fingerprint)
	}

	if len(conds) == 0 {
		return "1", nil
	}

	return strings.Join(conds, " AND "), args
}

// imageNotFound is the error for an unknown image.
func imageNotFound(fingerprint string) error {
	return fmt.Errorf("image %q: %w", fingerprint, errs.ErrNotFound)
}

const imageColumns = `images.id, images.fingerprint, images.project, images.filename, images.size, images.public,
images.architecture, images.type, images.creation_date, images.expiry_date, images.upload_date,
images.last_use_date, images.cached, images.auto_update`

// GetImages returns the images matching filter, oldest upload first, with
// their properties and sources. It runs three queries whatever the count.
func (t *Tx) GetImages(ctx context.Context, filter ImageFilter) ([]Image, error) {
	where, args := filter.where(t.scopedProject())

	rows, err := t.query(ctx, "SELECT "+imageColumns+" FROM images WHERE "+where+" ORDER BY images.id", args...)
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var images []Image
	for rows.Next() {
		var img Image
		var created, expires, uploaded, lastUsed nullTime
		err = rows.Scan(&img.ID, &img.Fingerprint, &img.Project, &img.Filename, &img.Size, &img.Public,
			&img.Architecture, &img.Type, &created, &expires, &uploaded,
			&lastUsed, &img.Cached, &img.AutoUpdate)
		if err != nil {
			return nil, fmt.Errorf("loading images: %w", err)
		}

		img.CreatedAt = created.Time
		img.ExpiresAt = expires.Time
		img.UploadedAt = uploaded.Time
		img.LastUsedAt = lastUsed.Time
		img.Properties = map[string]string{}
		images = append(images, img)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", mapError(err))
	}

	_ = rows.Close()
	if len(images) == 0 {
		return nil, nil
	}

	index := make(map[int64]*Image, len(images))
	for i := range images {
		index[images[i].ID] = &images[i]
	}

	err = t.loadImageProperties(ctx, where, args, index)
	if err != nil {
		return nil, fmt.Errorf("loading image properties: %w", err)
	}

	err = t.loadImageSources(ctx, where, args, index)
	if err != nil {
		return nil, fmt.Errorf("loading image sources: %w", err)
	}

	return images, nil
}

// loadImageProperties fills Properties of the images selected by where.
func (t *Tx) loadImageProperties(ctx context.Context, where string, args []any, index map[int64]*Image) error {
	rows, err := t.query(ctx, `SELECT p.image_id, p.key, p.value FROM images_properties AS p
JOIN images ON images.id = p.image_id WHERE `+where, args...)
	if err != nil {
		return err
	}

	defer func() { _ = rows.Close() }()

	for rows.Next() {
		var id int64
		var key, value string
		err = rows.Scan(&id, &key, &value)
		if err != nil {
			return err
		}

		img, ok := index[id]
		if ok {
			img.Properties[key] = value
		}
	}

	return mapError(rows.Err())
}

// loadImageSources fills Source of the images selected by where.
func (t *Tx) loadImageSources(ctx context.Context, where string, args []any, index map[int64]*Image) error {
	rows, err := t.query(ctx, `SELECT s.image_id, s.server, s.protocol, s.certificate, s.alias, s.image_type
FROM images_source AS s JOIN images ON images.id = s.image_id WHERE `+where, args...)
	if err != nil {
		return err
	}

	defer func() { _ = rows.Close() }()

	for rows.Next() {
		var id int64
		var src ImageSource
		err = rows.Scan(&id, &src.Server, &src.Protocol, &src.Certificate, &src.Alias, &src.ImageType)
		if err != nil {
			return err
		}

		img, ok := index[id]
		if ok {
			img.Source = &src
		}
	}

	return mapError(rows.Err())
}

// GetImage returns the project's image with exactly this fingerprint.
func (t *Tx) GetImage(ctx context.Context, fingerprint string) (*Image, error) {
	images, err := t.GetImages(ctx, ImageFilter{Fingerprint: &fingerprint})
	if err != nil {
		return nil, err
	}

	if len(images) == 0 {
		return nil, imageNotFound(fingerprint)
	}

	return &images[0], nil
}

// GetImageByPrefix returns the one image matching filter whose fingerprint
// starts with prefix (hex, any case). No match, or a prefix that is not hex,
// is ErrNotFound; several matches are an ErrInvalid saying it is ambiguous.
func (t *Tx) GetImageByPrefix(ctx context.Context, prefix string, filter ImageFilter) (*Image, error) {
	pattern, ok := prefixPattern(prefix)
	if !ok {
		return nil, imageNotFound(prefix)
	}

	where, args := filter.where(t.scopedProject())
	args = append([]any{pattern}, args...)
	rows, err := t.query(ctx, "SELECT fingerprint FROM images WHERE fingerprint GLOB ? AND "+where+" ORDER BY fingerprint LIMIT 2", args...)
	if err != nil {
		return nil, fmt.Errorf("looking up image %q: %w", prefix, err)
	}

	fps, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("looking up image %q: %w", prefix, err)
	}

	switch len(fps) {
	case 0:
		return nil, imageNotFound(prefix)
	case 1:
		return t.GetImage(ctx, fps[0])
	default:
		return nil, fmt.Errorf("image prefix %q is ambiguous: %w", prefix, errs.ErrInvalid)
	}
}

// CreateImage adds an image to the transaction's project with its properties and source, and returns its ID. Type
// defaults to container and UploadedAt to now. A fingerprint the project holds already is ErrConflict.
func (t *Tx) CreateImage(ctx context.Context, img Image) (int64, error) {
	err := checkFingerprint("image", img.Fingerprint)
	if err != nil {
		return 0, err
	}

	if img.Type == "" {
		img.Type = ImageTypeContainer
	}

	if img.UploadedAt.IsZero() {
		img.UploadedAt = time.Now()
	}

	res, err := t.exec(ctx, `INSERT INTO images (fingerprint, project, filename, size, public, architecture, type,
creation_date, expiry_date, upload_date, last_use_date, cached, auto_update)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		img.Fingerprint, t.scopedProject(), img.Filename, img.Size, img.Public, img.Architecture, img.Type,
		timeArg(img.CreatedAt), timeArg(img.ExpiresAt), timeArg(img.UploadedAt), timeArg(img.LastUsedAt),
		img.Cached, img.AutoUpdate)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("image %q: %w", img.Fingerprint, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating image %q: %w", img.Fingerprint, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("creating image %q: %w", img.Fingerprint, err)
	}

	err = t.insertImageProperties(ctx, id, img.Properties)
	if err != nil {
		return 0, fmt.Errorf("creating image %q: %w", img.Fingerprint, err)
	}

	if img.Source != nil {
		s := img.Source
		_, err = t.exec(ctx, `INSERT INTO images_source (image_id, server, protocol, certificate, alias, image_type)
VALUES (?, ?, ?, ?, ?, ?)`, id, s.Server, s.Protocol, s.Certificate, s.Alias, s.ImageType)
		if err != nil {
			return 0, fmt.Errorf("creating source of image %q: %w", img.Fingerprint, err)
		}
	}

	return id, nil
}

// insertImageProperties adds properties to an image that has none.
func (t *Tx) insertImageProperties(ctx context.Context, id int64, props map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(props)) {
		_, err := t.exec(ctx, "INSERT INTO images_properties (image_id, key, value) VALUES (?, ?, ?)", id, key, props[key])
		if err != nil {
			return fmt.Errorf("adding property %q: %w", key, err)
		}
	}

	return nil
}

// UpdateImage sets the writable fields of an image and replaces its properties.
func (t *Tx) UpdateImage(ctx context.Context, fingerprint string, upd ImageUpdate) error {
	id, err := t.imageID(ctx, fingerprint)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE images SET public = ?, auto_update = ?, expiry_date = ? WHERE id = ?",
		upd.Public, upd.AutoUpdate, timeArg(upd.ExpiresAt), id)
	if err != nil {
		return fmt.Errorf("updating image %q: %w", fingerprint, err)
	}

	_, err = t.exec(ctx, "DELETE FROM images_properties WHERE image_id = ?", id)
	if err != nil {
		return fmt.Errorf("clearing properties of image %q: %w", fingerprint, err)
	}

	err = t.insertImageProperties(ctx, id, upd.Properties)
	if err != nil {
		return fmt.Errorf("updating image %q: %w", fingerprint, err)
	}

	return nil
}

// UpdateImageLastUse records when an image was last used to create an instance.
func (t *Tx) UpdateImageLastUse(ctx context.Context, fingerprint string, when time.Time) error {
	return t.updateImageColumn(ctx, fingerprint, "last_use_date", timeArg(when))
}

// UpdateImageCached marks an image as cached (pulled implicitly, and removed
// when unused) or not.
func (t *Tx) UpdateImageCached(ctx context.Context, fingerprint string, cached bool) error {
	return t.updateImageColumn(ctx, fingerprint, "cached", cached)
}

// updateImageColumn sets one column of an image; column is a constant.
func (t *Tx) updateImageColumn(ctx context.Context, fingerprint string, column string, value any) error {
	n, err := t.execCount(ctx, "UPDATE images SET "+column+" = ? WHERE fingerprint = ? AND project = ?", value, fingerprint, t.scopedProject())
	if err != nil {
		return fmt.Errorf("updating %s of image %q: %w", column, fingerprint, err)
	}

	if n == 0 {
		return imageNotFound(fingerprint)
	}

	return nil
}

// DeleteImage removes the project's image; its properties, aliases and source go with it. The other projects'
// records of the same fingerprint stay.
func (t *Tx) DeleteImage(ctx context.Context, fingerprint string) error {
	n, err := t.execCount(ctx, "DELETE FROM images WHERE fingerprint = ? AND project = ?", fingerprint, t.scopedProject())
	if err != nil {
		return fmt.Errorf("deleting image %q: %w", fingerprint, err)
	}

	if n == 0 {
		return imageNotFound(fingerprint)
	}

	return nil
}

// ImageHeld tells whether any project records the image fingerprint, whose files are then still needed.
func (t *Tx) ImageHeld(ctx context.Context, fingerprint string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM images WHERE fingerprint = ?", fingerprint).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking up image %q: %w", fingerprint, mapError(err))
	}

	return n > 0, nil
}

// imageID returns the ID of the project's image with exactly this fingerprint.
func (t *Tx) imageID(ctx context.Context, fingerprint string) (int64, error) {
	id, err := t.lookupID(ctx, imageNotFound(fingerprint), "SELECT id FROM images WHERE fingerprint = ? AND project = ?", fingerprint, t.scopedProject())
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return 0, fmt.Errorf("looking up image %q: %w", fingerprint, err)
	}

	return id, err
}
