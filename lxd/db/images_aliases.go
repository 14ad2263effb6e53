package db

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
)

// ImageAlias is a name pointing at an image. Target is the image's full
// fingerprint and Type its type; both come from the image.
type ImageAlias struct {
	ID          int64
	Name        string
	Description string
	Target      string
	Type        string
}

// imageAliasNotFound is the error for an unknown alias.
func imageAliasNotFound(name string) error {
	return fmt.Errorf("image alias %q: %w", name, errs.ErrNotFound)
}

const imageAliasQuery = `SELECT a.id, a.name, a.description, i.fingerprint, i.type
FROM images_aliases AS a JOIN images AS i ON i.id = a.image_id `

// scanImageAliases runs imageAliasQuery with the given condition (an "AND ..." clause) on the aliases of the
// transaction's project.
func (t *Tx) scanImageAliases(ctx context.Context, where string, args ...any) ([]ImageAlias, error) {
	args = append([]any{t.scopedProject()}, args...)
	rows, err := t.query(ctx, imageAliasQuery+"WHERE a.project = ? "+where+" ORDER BY a.name", args...)
	if err != nil {
		return nil, err
	}

	defer func() { _ = rows.Close() }()

	var aliases []ImageAlias
	for rows.Next() {
		var a ImageAlias
		err = rows.Scan(&a.ID, &a.Name, &a.Description, &a.Target, &a.Type)
		if err != nil {
			return nil, err
		}

		aliases = append(aliases, a)
	}

	err = rows.Err()
	if err != nil {
		return nil, mapError(err)
	}

	return aliases, nil
}

// GetImageAliases returns every alias of the project, ordered by name.
func (t *Tx) GetImageAliases(ctx context.Context) ([]ImageAlias, error) {
	aliases, err := t.scanImageAliases(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("loading image aliases: %w", err)
	}

	return aliases, nil
}

// GetImageAlias returns the alias with this name.
func (t *Tx) GetImageAlias(ctx context.Context, name string) (*ImageAlias, error) {
	aliases, err := t.scanImageAliases(ctx, "AND a.name = ?", name)
	if err != nil {
		return nil, fmt.Errorf("loading image alias %q: %w", name, err)
	}

	if len(aliases) == 0 {
		return nil, imageAliasNotFound(name)
	}

	return &aliases[0], nil
}

// GetImageAliasesForImage returns the aliases pointing at an image, ordered by
// name; an unknown image has none.
func (t *Tx) GetImageAliasesForImage(ctx context.Context, fingerprint string) ([]ImageAlias, error) {
	aliases, err := t.scanImageAliases(ctx, "AND i.fingerprint = ?", fingerprint)
	if err != nil {
		return nil, fmt.Errorf("loading aliases of image %q: %w", fingerprint, err)
	}

	return aliases, nil
}

// CreateImageAlias adds an alias to the image whose full fingerprint is
// a.Target and returns its ID. An unknown image is ErrNotFound, a taken name
// ErrConflict and an empty name ErrInvalid.
func (t *Tx) CreateImageAlias(ctx context.Context, a ImageAlias) (int64, error) {
	if a.Name == "" {
		return 0, fmt.Errorf("image alias name is empty: %w", errs.ErrInvalid)
	}

	imageID, err := t.imageID(ctx, a.Target)
	if err != nil {
		return 0, fmt.Errorf("creating image alias %q: %w", a.Name, err)
	}

	res, err := t.exec(ctx, "INSERT INTO images_aliases (name, project, image_id, description) VALUES (?, ?, ?, ?)",
		a.Name, t.scopedProject(), imageID, a.Description)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, fmt.Errorf("image alias %q: %w", a.Name, errs.ErrConflict)
		}

		return 0, fmt.Errorf("creating image alias %q: %w", a.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("creating image alias %q: %w", a.Name, err)
	}

	return id, nil
}

// UpdateImageAlias points an alias at the image whose full fingerprint is
// target and sets its description.
func (t *Tx) UpdateImageAlias(ctx context.Context, name string, target string, description string) error {
	imageID, err := t.imageID(ctx, target)
	if err != nil {
		return fmt.Errorf("updating image alias %q: %w", name, err)
	}

	n, err := t.execCount(ctx, "UPDATE images_aliases SET image_id = ?, description = ? WHERE name = ? AND project = ?",
		imageID, description, name, t.scopedProject())
	if err != nil {
		return fmt.Errorf("updating image alias %q: %w", name, err)
	}

	if n == 0 {
		return imageAliasNotFound(name)
	}

	return nil
}

// RenameImageAlias renames an alias; a taken newName is ErrConflict.
func (t *Tx) RenameImageAlias(ctx context.Context, name string, newName string) error {
	if newName == "" {
		return fmt.Errorf("image alias name is empty: %w", errs.ErrInvalid)
	}

	n, err := t.execCount(ctx, "UPDATE images_aliases SET name = ? WHERE name = ? AND project = ?", newName, name, t.scopedProject())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("image alias %q: %w", newName, errs.ErrConflict)
		}

		return fmt.Errorf("renaming image alias %q: %w", name, err)
	}

	if n == 0 {
		return imageAliasNotFound(name)
	}

	return nil
}

// DeleteImageAlias removes an alias; the image stays.
func (t *Tx) DeleteImageAlias(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM images_aliases WHERE name = ? AND project = ?", name, t.scopedProject())
	if err != nil {
		return fmt.Errorf("deleting image alias %q: %w", name, err)
	}

	if n == 0 {
		return imageAliasNotFound(name)
	}

	return nil
}

// MoveImageAliases points every alias of the image fromFP at the image toFP,
// as when auto-update replaces an image with a newer one. Both are full
// fingerprints and must exist.
func (t *Tx) MoveImageAliases(ctx context.Context, fromFP string, toFP string) error {
	fromID, err := t.imageID(ctx, fromFP)
	if err != nil {
		return fmt.Errorf("moving image aliases: %w", err)
	}

	toID, err := t.imageID(ctx, toFP)
	if err != nil {
		return fmt.Errorf("moving image aliases: %w", err)
	}

	_, err = t.exec(ctx, "UPDATE images_aliases SET image_id = ? WHERE image_id = ?", toID, fromID)
	if err != nil {
		return fmt.Errorf("moving image aliases from %q to %q: %w", fromFP, toFP, err)
	}

	return nil
}
