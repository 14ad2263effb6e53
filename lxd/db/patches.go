package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// PatchApplied reports whether the named data fix-up has already run.
func (t *Tx) PatchApplied(ctx context.Context, name string) (bool, error) {
	var n int
	err := t.queryRow(ctx, "SELECT count(*) FROM patches WHERE name = ?", []any{name}, &n)
	if err != nil {
		return false, fmt.Errorf("looking up patch %q: %w", name, err)
	}

	return n > 0, nil
}

// MarkPatchApplied records that the named data fix-up has run. Marking a
// patch twice is an ErrConflict, as a patch runs once.
func (t *Tx) MarkPatchApplied(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("patch name is empty: %w", errs.ErrInvalid)
	}

	_, err := t.exec(ctx, "INSERT INTO patches (name, applied_at) VALUES (?, ?)", name, timeArg(time.Now()))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("patch %q: %w", name, errs.ErrConflict)
		}

		return fmt.Errorf("recording patch %q: %w", name, err)
	}

	return nil
}
