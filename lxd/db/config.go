package db

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/lxd-go/lxd/lxd/errs"
)

// GetConfig returns the server configuration as key/value pairs.
func (t *Tx) GetConfig(ctx context.Context) (map[string]string, error) {
	rows, err := t.query(ctx, "SELECT key, value FROM config")
	if err != nil {
		return nil, fmt.Errorf("loading config: %w", err)
	}

	defer func() { _ = rows.Close() }()

	config := map[string]string{}
	for rows.Next() {
		var key, value string
		err = rows.Scan(&key, &value)
		if err != nil {
			return nil, fmt.Errorf("loading config: %w", err)
		}

		config[key] = value
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading config: %w", mapError(err))
	}

	return config, nil
}

// UpdateConfig sets the given keys; an empty value deletes the key. Keys not
// in changes are left alone.
func (t *Tx) UpdateConfig(ctx context.Context, changes map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(changes)) {
		value := changes[key]
		if key == "" {
			return fmt.Errorf("config key is empty: %w", errs.ErrInvalid)
		}

		var err error
		if value == "" {
			_, err = t.exec(ctx, "DELETE FROM config WHERE key = ?", key)
		} else {
			_, err = t.exec(ctx, "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
		}

		if err != nil {
			return fmt.Errorf("setting config %q: %w", key, err)
		}
	}

	return nil
}
