package db

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestMapError(t *testing.T) {
	other := errors.New("other")

	tests := []struct {
		name string
		in   error
		want error
	}{
		{"unique", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, errs.ErrConflict},
		{"primary key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintPrimaryKey}, errs.ErrConflict},
		{"foreign key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintForeignKey}, errs.ErrConflict},
		{"check", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintCheck}, errs.ErrInvalid},
		{"not null", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintNotNull}, errs.ErrInvalid},
		{"busy", sqlite3.Error{Code: sqlite3.ErrBusy}, errs.ErrBusy},
		{"locked", sqlite3.Error{Code: sqlite3.ErrLocked}, errs.ErrBusy},
		{"wrapped", fmt.Errorf("ctx: %w", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}), errs.ErrConflict},
		{"no rows", sql.ErrNoRows, errs.ErrNotFound},
		{"other sqlite", sqlite3.Error{Code: sqlite3.ErrIoErr}, nil},
		{"other", other, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapError(tt.in)
			if !errors.Is(got, tt.in) {
				t.Fatalf("got %v, want the original error kept", got)
			}

			if got.Error() != tt.in.Error() {
				t.Fatalf("got message %q, want %q", got.Error(), tt.in.Error())
			}

			for _, class := range []error{errs.ErrConflict, errs.ErrInvalid, errs.ErrBusy, errs.ErrNotFound} {
				if errors.Is(got, class) != (class == tt.want) {
					t.Fatalf("got errors.Is(%v) = %v, want %v", class, errors.Is(got, class), class == tt.want)
				}
			}
		})
	}

	if mapError(nil) != nil {
		t.Fatal("got an error for nil, want nil")
	}
}
