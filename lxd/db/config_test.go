package db

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestConfig(t *testing.T) {
	d := newTestDB(t)

	steps := []struct {
		name    string
		changes map[string]string
		want    map[string]string
	}{
		{"empty", nil, map[string]string{}},
		{"set", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1", "b": "2"}},
		{"change one keeps others", map[string]string{"a": "3"}, map[string]string{"a": "3", "b": "2"}},
		{"empty value deletes", map[string]string{"b": ""}, map[string]string{"a": "3"}},
		{"deleting a missing key is fine", map[string]string{"zz": ""}, map[string]string{"a": "3"}},
	}

	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			mustTx(t, d, func(ctx context.Context, tx *Tx) error {
				err := tx.UpdateConfig(ctx, step.changes)
				if err != nil {
					return err
				}

				got, err := tx.GetConfig(ctx)
				if err != nil {
					return err
				}

				if !maps.Equal(got, step.want) {
					t.Errorf("got %v, want %v", got, step.want)
				}

				return nil
			})
		})
	}
}

func TestConfigEmptyKey(t *testing.T) {
	d := newTestDB(t)

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{"": "x"})
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}
