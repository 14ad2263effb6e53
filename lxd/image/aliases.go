package image

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// errAliasNotFound is what a caller learns of an alias it may not see or that does not exist.
func errAliasNotFound() error {
	return errs.NotFound("image alias not found")
}

// ValidateAliasName refuses names that could not be typed back as "remote:alias".
func ValidateAliasName(name string) error {
	if name == "" {
		return errs.Invalid("alias name must not be empty")
	}

	if len(name) > 255 {
		return errs.Invalid("alias name longer than 255 characters")
	}

	if name == "." || name == ".." || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return errs.Invalid("invalid alias name %q", name)
	}

	for _, c := range name {
		if c == ':' || c == '\\' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return errs.Invalid("invalid character %q in alias name %q", c, name)
		}
	}

	return nil
}

// resolveTarget expands an alias target given as a fingerprint prefix, as the stock client sends it.
func resolveTarget(ctx context.Context, tx *db.Tx, target string) (string, error) {
	if target == "" {
		return "", errs.Invalid("alias target must not be empty")
	}

	img, err := tx.GetImageByPrefix(ctx, target, db.ImageFilter{})
	if errors.Is(err, errs.ErrNotFound) {
		return "", errs.NotFound("image %q not found", target)
	}

	if err != nil {
		return "", err
	}

	return img.Fingerprint, nil
}

// createAlias checks the name and records the alias of image fp.
func createAlias(ctx context.Context, tx *db.Tx, name string, description string, fp string) error {
	err := ValidateAliasName(name)
	if err != nil {
		return err
	}

	_, err = tx.CreateImageAlias(ctx, db.ImageAlias{Name: name, Description: description, Target: fp})
	if errors.Is(err, errs.ErrConflict) {
		return errs.Conflict("alias %q already exists", name)
	}

	return err
}

// Aliases returns every alias.
func (m *Manager) Aliases(ctx context.Context) ([]api.ImageAliasesEntry, error) {
	var aliases []db.ImageAlias
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		aliases, err = tx.GetImageAliases(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := make([]api.ImageAliasesEntry, 0, len(aliases))
	for _, a := range aliases {
		out = append(out, a.ToAPI())
	}

	return out, nil
}

// Alias returns the alias name and the image it points at. A missing alias is errs.NotFound("image alias not
// found").
func (m *Manager) Alias(ctx context.Context, name string) (*api.ImageAliasesEntry, *api.Image, error) {
	var alias api.ImageAliasesEntry
	var img api.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, err := tx.GetImageAlias(ctx, name)
		if err != nil {
			return err
		}

		target, err := tx.GetImage(ctx, a.Target)
		if err != nil {
			return err
		}

		alias = a.ToAPI()
		img = target.ToAPI(nil)
		return nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil, errAliasNotFound()
	}

	if err != nil {
		return nil, nil, err
	}

	return &alias, &img, nil
}

// CreateAlias records a new alias; its target may be a fingerprint prefix.
func (m *Manager) CreateAlias(ctx context.Context, req api.ImageAliasesPost) error {
	err := ValidateAliasName(req.Name)
	if err != nil {
		return err
	}

	return m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		fp, err := resolveTarget(ctx, tx, req.Target)
		if err != nil {
			return err
		}

		return createAlias(ctx, tx, req.Name, req.Description, fp)
	})
}

// UpdateAlias points alias name at put's target (a fingerprint prefix) with put's description.
func (m *Manager) UpdateAlias(ctx context.Context, name string, put api.ImageAliasesEntryPut) error {
	return m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		fp, err := resolveTarget(ctx, tx, put.Target)
		if err != nil {
			return err
		}

		return tx.UpdateImageAlias(ctx, name, fp, put.Description)
	})
}

// RenameAlias renames alias name to newName.
func (m *Manager) RenameAlias(ctx context.Context, name string, newName string) error {
	err := ValidateAliasName(newName)
	if err != nil {
		return err
	}

	return m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.RenameImageAlias(ctx, name, newName)
		if errors.Is(err, errs.ErrConflict) {
			return errs.Conflict("alias %q already exists", newName)
		}

		return err
	})
}

// DeleteAlias removes alias name.
func (m *Manager) DeleteAlias(ctx context.Context, name string) error {
	return m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteImageAlias(ctx, name)
	})
}
