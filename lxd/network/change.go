package network

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// prepareConfig validates a bridge's configuration and resolves auto addresses into free subnets: subnets used by
// the host (other than on the bridge itself) or by another managed network are refused, and auto picks one that
// is not used.
func (m *Manager) prepareConfig(ctx context.Context, name string, config map[string]string) error {
	err := validateConfig(config)
	if err != nil {
		return err
	}

	err = checkExternalInterfaces(ctx, name, config)
	if err != nil {
		return err
	}

	if config["ipv4.address"] == "auto" || config["ipv6.address"] == "auto" ||
		config["ipv4.address"] != "" && config["ipv4.address"] != "none" ||
		config["ipv6.address"] != "" && config["ipv6.address"] != "none" {
		used, err := m.usedSubnets(ctx, name)
		if err != nil {
			return err
		}

		for _, family := range []string{"ipv4", "ipv6"} {
			key := family + ".address"
			switch config[key] {
			case "", "none":
				continue
			case "auto":
				pick := pickIPv4Subnet
				if family == "ipv6" {
					pick = pickIPv6Subnet
				}

				config[key], err = pick(usedNets(used), m.rnd)
				if err != nil {
					return err
				}
			default:
				_, subnet, _ := net.ParseCIDR(config[key])
				for _, u := range used {
					if overlaps(subnet, u.Subnet) {
						return errs.Invalid("%s %s overlaps with %s used by %s", key, subnet, u.Subnet, u.Dev)
					}
				}
			}
		}
	}

	return validateConfig(config)
}

// usedSubnets lists the subnets of the host and of the other managed networks.
func (m *Manager) usedSubnets(ctx context.Context, self string) ([]hostPrefix, error) {
	host, err := readHostPrefixes(ctx)
	if err != nil {
		return nil, err
	}

	var out []hostPrefix
	for _, p := range host {
		if p.Dev != self {
			out = append(out, p)
		}
	}

	nets, err := m.loadNetworks(ctx)
	if err != nil {
		return nil, err
	}

	for _, n := range nets {
		if n.Name == self {
			continue
		}

		for _, key := range []string{"ipv4.address", "ipv6.address"} {
			_, subnet, ok := parseCIDRKey(n.Config[key])
			if ok {
				out = append(out, hostPrefix{Subnet: subnet, Dev: "network " + n.Name})
			}
		}
	}

	return out, nil
}

func usedNets(p []hostPrefix) []*net.IPNet {
	out := make([]*net.IPNet, 0, len(p))
	for _, u := range p {
		out = append(out, u.Subnet)
	}

	return out
}

// Create creates a managed bridge network: its row (pending until its runtime exists), bridge, addresses, dnsmasq
// and firewall rules. Any failure undoes every step.
func (m *Manager) Create(ctx context.Context, req api.NetworksPost) error {
	err := ValidName(req.Name)
	if err != nil {
		return err
	}

	if req.Type == "" {
		req.Type = "bridge"
	}

	if req.Type != "bridge" {
		return errs.Invalid("network type %q is not supported (only bridge is)", req.Type)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	config := maps.Clone(req.Config)
	if config == nil {
		config = map[string]string{}
	}

	var exists bool
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetNetwork(ctx, req.Name)
		exists = err == nil
		return nil
	})
	if err != nil {
		return err
	}

	if exists {
		return errs.Invalid("the network already exists")
	}

	if interfaceExists(req.Name) {
		return errs.Conflict("the network name %q is already used by a host interface", req.Name)
	}

	_, err = os.Stat(m.netDir(req.Name))
	if err == nil {
		return errs.Conflict("the network %q still has files in %s", req.Name, m.netDir(req.Name))
	}

	_, given := config["ipv6.address"]
	if !given && !fileExists("/proc/sys/net/ipv6") {
		// A host without IPv6 gets a bridge without it, as on LXD.
		config["ipv6.address"] = "none"
	}

	fillDefaults(config)
	err = m.prepareConfig(ctx, req.Name, config)
	if err != nil {
		return err
	}

	err = m.checkRaw(ctx, req.Name, config)
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateNetwork(ctx, db.Network{Name: req.Name, Type: req.Type, Description: req.Description,
			State: db.NetworkPending, Config: config})
		return err
	})
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteNetwork(ctx, req.Name)
		})
		_ = m.refreshFirewall(context.Background())
	})

	r.Add(func() { m.teardown(req.Name) })
	err = m.setup(ctx, req.Name, config)
	if err != nil {
		return err
	}

	err = m.refreshFirewall(ctx)
	if err != nil {
		return err
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetNetworkState(ctx, req.Name, db.NetworkCreated)
	})
	if err != nil {
		return err
	}

	delete(m.unavailable, req.Name)
	r.Success()
	return nil
}

// checkRaw checks the dnsmasq configuration that config would give (raw.dnsmasq included) without running it.
func (m *Manager) checkRaw(ctx context.Context, name string, config map[string]string) error {
	if strings.TrimSpace(config["raw.dnsmasq"]) == "" {
		return nil
	}

	dir, err := os.MkdirTemp(m.dir, ".check-")
	if err != nil {
		return err
	}

	defer func() { _ = os.RemoveAll(dir) }()
	conf := dnsmasqConfig(name, dir, config)
	if conf == "" {
		return nil
	}

	err = writeDnsmasqFiles(dir, conf, config["raw.dnsmasq"])
	if err != nil {
		return err
	}

	return checkDnsmasq(ctx, dir)
}

// Update replaces a network's description and configuration and applies it: a failure puts back the old one.
func (m *Manager) Update(ctx context.Context, name string, put api.NetworkPut) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	var old *db.Network
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		old, err = tx.GetNetwork(ctx, name)
		return err
	})
	if err != nil {
		return notFound(err)
	}

	config := maps.Clone(put.Config)
	if config == nil {
		config = map[string]string{}
	}

	// A key set to "" is unset, as LXD drops it (the clients' unset sends it so).
	maps.DeleteFunc(config, func(k string, v string) bool { return v == "" })

	err = m.prepareConfig(ctx, name, config)
	if err != nil {
		return err
	}

	err = m.checkRaw(ctx, name, config)
	if err != nil {
		return err
	}

	err = m.checkStaticEntries(name, config)
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateNetwork(ctx, name, put.Description, config)
	})
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.UpdateNetwork(ctx, name, old.Description, old.Config)
		})
		_ = m.setup(context.Background(), name, old.Config)
		_ = m.refreshFirewall(context.Background())
	})

	if !maps.Equal(old.Config, config) {
		detachExternalInterfaces(ctx, name, old.Config, config)
		r.Add(func() { detachExternalInterfaces(context.Background(), name, config, old.Config) })
		err = m.setup(ctx, name, config)
		if err != nil {
			return err
		}

		err = m.refreshFirewall(ctx)
		if err != nil {
			return err
		}

		delete(m.unavailable, name)
	}

	r.Success()
	return nil
}

// notFound turns a missing row into LXD's message for an unknown network.
func notFound(err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("network not found")
	}

	return err
}

// Rename renames an unused network, its bridge and its files; as on LXD, a network that an instance or a profile
// uses cannot be renamed.
func (m *Manager) Rename(ctx context.Context, name string, newName string) error {
	err := ValidName(newName)
	if err != nil {
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	var n *db.Network
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		n, err = tx.GetNetwork(ctx, name)
		if err != nil {
			return notFound(err)
		}

		users, err := usedBy(ctx, tx, name)
		if err != nil {
			return err
		}

		if len(users) > 0 {
			return errs.Invalid("the network is currently in use by: %s", strings.Join(users, ", "))
		}

		_, err = tx.GetNetwork(ctx, newName)
		if err == nil {
			return errs.Conflict("network %q already exists", newName)
		}

		return nil
	})
	if err != nil {
		return err
	}

	if interfaceExists(newName) {
		return errs.Conflict("the network name %q is already used by a host interface", newName)
	}

	r := revert.New()
	defer r.Fail()

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameNetwork(ctx, name, newName)
	})
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.RenameNetwork(ctx, newName, name)
		})
	})

	stopDnsmasq(m.netDir(name))
	r.Add(func() { _ = m.setup(context.Background(), name, n.Config) })
	if isBridge(name) {
		_, err = runIP(ctx, "link", "set", "dev", name, "down")
		if err != nil {
			return err
		}

		_, err = runIP(ctx, "link", "set", "dev", name, "name", newName)
		if err != nil {
			return err
		}

		r.Add(func() {
			_, _ = runIP(context.Background(), "link", "set", "dev", newName, "down")
			_, _ = runIP(context.Background(), "link", "set", "dev", newName, "name", name)
		})
	}

	err = os.Rename(m.netDir(name), m.netDir(newName))
	if err != nil && !os.IsNotExist(err) {
		return err
	}

	r.Add(func() { _ = os.Rename(m.netDir(newName), m.netDir(name)) })
	err = m.setup(ctx, newName, n.Config)
	if err != nil {
		return err
	}

	err = m.refreshFirewall(ctx)
	if err != nil {
		return err
	}

	if m.unavailable[name] != nil {
		delete(m.unavailable, name)
	}

	r.Success()
	return nil
}

// Delete removes a network that no instance or profile uses: its row first (a crash after it leaves files and a
// bridge that the next start removes), then its dnsmasq, bridge, files and firewall rules.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetNetwork(ctx, name)
		if err != nil {
			return notFound(err)
		}

		users, err := usedBy(ctx, tx, name)
		if err != nil {
			return err
		}

		if len(users) > 0 {
			return errs.Invalid("the network is currently in use by: %s", strings.Join(users, ", "))
		}

		return tx.DeleteNetwork(ctx, name)
	})
	if err != nil {
		return err
	}

	m.teardown(name)
	delete(m.unavailable, name)
	err = m.refreshFirewall(ctx)
	if err != nil {
		return fmt.Errorf("the network is deleted, but its firewall rules stay: %w", err)
	}

	return nil
}
