package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// loadConfig reads the stored server configuration into memory. A cluster member takes the keys of config.NodeKeys
// from its own database and the others from the cluster's.
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

	if d.db.Clustered() {
		var local map[string]string
		err = d.db.NodeTransaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			var err error
			local, err = tx.GetConfig(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("load member configuration: %w", err)
		}

		for _, key := range config.NodeKeys {
			delete(values, key)
			if local[key] != "" {
				values[key] = local[key]
			}
		}
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

	_, clusterAddrChanged := changed[config.ClusterHTTPSAddress]
	if clusterAddrChanged && d.db.Clustered() {
		return errs.Invalid("Changing cluster.https_address is currently not supported")
	}

	_, addrChanged := changed[config.HTTPSAddress]
	listenersChanged := addrChanged || clusterAddrChanged
	if listenersChanged {
		err = d.applyListeners(config.New(next))
		if err != nil {
			_ = d.applyListeners(current)
			return err
		}
	}

	err = d.storeConfig(ctx, changed)
	if err != nil {
		if listenersChanged {
			_ = d.applyListeners(current)
		}

		return fmt.Errorf("store server configuration: %w", err)
	}

	d.config.Store(config.New(next))
	d.notifyMembers()
	return nil
}

// storeConfig writes changed keys: a member's own keys to its database, the others to the cluster's. A server that
// is not clustered writes them all in one transaction.
func (d *Daemon) storeConfig(ctx context.Context, changed map[string]string) error {
	if !d.db.Clustered() {
		return d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			return tx.UpdateConfig(ctx, changed)
		})
	}

	node := map[string]string{}
	global := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(changed)) {
		if slices.Contains(config.NodeKeys, key) {
			node[key] = changed[key]
		} else {
			global[key] = changed[key]
		}
	}

	if len(node) > 0 {
		err := d.db.NodeTransaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			return tx.UpdateConfig(ctx, node)
		})
		if err != nil {
			return err
		}
	}

	if len(global) == 0 {
		return nil
	}

	return d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateConfig(ctx, global)
	})
}
