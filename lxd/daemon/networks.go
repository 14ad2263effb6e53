package daemon

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/network"
)

// openNetworks builds the network manager and starts the managed networks (bridges, dnsmasq, firewall), repairing
// what a crash left; it runs before the instances start, so that their nics find their bridges.
func (d *Daemon) openNetworks(ctx context.Context) (*network.Manager, error) {
	m := network.NewManager(network.ManagerArgs{DB: d.db, Dir: d.dirs.Networks()})
	err := m.Init(ctx)
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}

	return m, nil
}
