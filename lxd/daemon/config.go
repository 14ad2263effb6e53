package daemon

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
)

// loadConfig reads the stored server configuration into memory.
func (d *Daemon) loadConfig(ctx context.Context) error {
	var values map[string]string
	err := d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		values, err = tx.GetConfig(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("load server configuration: %w", err)
	}

	d.config.Store(config.New(values))
	return nil
}

// currentConfig returns the server configuration in force.
func (d *Daemon) currentConfig() *config.Config {
	return d.config.Load()
}

// updateConfig applies a configuration change: validation first, then the side effects that can fail (binding a
// new HTTPS address), then the database write; a failure at any step leaves both the stored configuration and the
// running listeners as they were.
func (d *Daemon) updateConfig(ctx context.Context, changes map[string]any, replace bool) error {
	d.configMu.Lock()
	defer d.configMu.Unlock()

	current := d.config.Load()
	next, changed, err := current.Change(changes, replace)
	if err != nil {
		return err
	}

	if len(changed) == 0 {
		return nil
	}

	newAddr, addrChanged := changed[config.HTTPSAddress]
	if addrChanged {
		err = d.setHTTPSAddress(newAddr)
		if err != nil {
			return err
		}
	}

	err = d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateConfig(ctx, changed)
	})
	if err != nil {
		if addrChanged {
			_ = d.setHTTPSAddress(current.Get(config.HTTPSAddress))
		}

		return fmt.Errorf("store server configuration: %w", err)
	}

	d.config.Store(config.New(next))
	return nil
}
