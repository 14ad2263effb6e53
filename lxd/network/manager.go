package network

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// writeFile writes a state file whole or not at all.
var writeFile = fsutil.WriteFileAtomic

// ManagerArgs are what a Manager works with.
type ManagerArgs struct {
	DB *db.DB

	// Dir holds one directory per managed network ($LXD_DIR/networks): dnsmasq's configuration, pid, leases and
	// host entries.
	Dir string
}

// Manager owns the managed networks: their rows, bridges, dnsmasq processes and firewall rules.
type Manager struct {
	db  *db.DB
	dir string

	// mu serialises every change of a network's runtime or rows.
	mu sync.Mutex

	// unavailable holds the networks that failed to start, with the reason.
	unavailable map[string]error
	rnd         *rand.Rand
}

// NewManager returns a manager over the given database and directory.
func NewManager(args ManagerArgs) *Manager {
	return &Manager{
		db:          args.DB,
		dir:         args.Dir,
		unavailable: map[string]error{},
		rnd:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

// URL is the API path of a network.
func URL(name string) string {
	return "/1.0/networks/" + name
}

// netDir is the directory of a network's files.
func (m *Manager) netDir(name string) string {
	return filepath.Join(m.dir, name)
}

// Init repairs what a crash left and starts the managed networks: a network still pending (its creation was
// interrupted) is removed, the bridge and files of a network whose row is gone are removed, and every other
// network gets its bridge, addresses, dnsmasq and firewall rules. A network that fails to start is logged and
// reported as Unavailable; the daemon still starts.
func (m *Manager) Init(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	err := os.MkdirAll(m.dir, 0o711)
	if err != nil {
		return fmt.Errorf("creating the networks directory: %w", err)
	}

	nets, err := m.loadNetworks(ctx)
	if err != nil {
		return err
	}

	known := map[string]bool{}
	for _, n := range nets {
		if n.State == db.NetworkPending {
			slog.Warn("removing a network whose creation was interrupted", "network", n.Name)
			m.teardown(n.Name)
			err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				return tx.DeleteNetwork(ctx, n.Name)
			})
			if err != nil {
				return err
			}

			continue
		}

		known[n.Name] = true
	}

	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return err
	}

	for _, e := range entries {
		if e.IsDir() && !known[e.Name()] {
			slog.Warn("removing the leftovers of a deleted network", "network", e.Name())
			m.teardown(e.Name())
		}
	}

	for _, n := range nets {
		if !known[n.Name] {
			continue
		}

		err = m.setup(ctx, n.Name, n.Config)
		if err != nil {
			slog.Error("network failed to start", "network", n.Name, "err", err)
			m.unavailable[n.Name] = err
		}
	}

	// Without its firewall rules a network still carries traffic on its bridge: the daemon starts, and the error
	// is reported on every network until a change applies the rules.
	err = m.refreshFirewall(ctx)
	if err != nil {
		slog.Error("the networks' firewall rules could not be applied", "err", err)
		for _, n := range nets {
			if known[n.Name] && m.unavailable[n.Name] == nil {
				m.unavailable[n.Name] = err
			}
		}
	}

	return nil
}

// Shutdown stops the dnsmasq of every managed network; bridges stay until the next start reconfigures them.
func (m *Manager) Shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()

	entries, _ := os.ReadDir(m.dir)
	for _, e := range entries {
		if e.IsDir() {
			stopDnsmasq(m.netDir(e.Name()))
		}
	}
}

// loadNetworks reads every managed network row.
func (m *Manager) loadNetworks(ctx context.Context) ([]db.Network, error) {
	var nets []db.Network
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		nets, err = tx.GetNetworks(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loading the networks: %w", err)
	}

	return nets, nil
}

// refreshFirewall rewrites the daemon's nftables table from the managed networks in the database.
func (m *Manager) refreshFirewall(ctx context.Context) error {
	nets, err := m.loadNetworks(ctx)
	if err != nil {
		return err
	}

	var rules []nftNetwork
	for _, n := range nets {
		rules = append(rules, nftNetwork{Name: n.Name, Config: n.Config})
	}

	return applyRuleset(ctx, rules)
}

// List returns the managed networks, by name, then the host's other interfaces (unmanaged) in the kernel's order,
// as LXD lists them.
func (m *Manager) List(ctx context.Context) ([]api.Network, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing the host's interfaces: %w", err)
	}

	var out []api.Network
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		nets, err := tx.GetNetworks(ctx)
		if err != nil {
			return err
		}

		managed := map[string]bool{}
		for _, n := range nets {
			managed[n.Name] = true
			an, err := m.toAPI(ctx, tx, n)
			if err != nil {
				return err
			}

			out = append(out, an)
		}

		for _, iface := range ifaces {
			if managed[iface.Name] {
				continue
			}

			u, err := unmanaged(ctx, tx, iface.Name)
			if err != nil {
				return err
			}

			out = append(out, u)
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	return out, nil
}

// Get returns a managed network, or a host interface as an unmanaged network.
func (m *Manager) Get(ctx context.Context, name string) (*api.Network, error) {
	var out *api.Network
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNetwork(ctx, name)
		if errors.Is(err, errs.ErrNotFound) && name != "" && interfaceExists(name) {
			u, err := unmanaged(ctx, tx, name)
			out = &u
			return err
		}

		if err != nil {
			return err
		}

		an, err := m.toAPI(ctx, tx, *n)
		out = &an
		return err
	})
	if err != nil {
		return nil, notFound(err)
	}

	return out, nil
}

// unmanaged describes a host interface the daemon does not manage, with the nics whose parent it is.
func unmanaged(ctx context.Context, tx *db.Tx, name string) (api.Network, error) {
	users, err := usedBy(ctx, tx, name)
	if err != nil {
		return api.Network{}, err
	}

	return api.Network{
		NetworkPut: api.NetworkPut{Config: map[string]string{}},
		Name:       name,
		Type:       interfaceType(name),
		UsedBy:     users,
		Managed:    false,
	}, nil
}

// toAPI renders a managed network with its users.
func (m *Manager) toAPI(ctx context.Context, tx *db.Tx, n db.Network) (api.Network, error) {
	usedBy, err := usedBy(ctx, tx, n.Name)
	if err != nil {
		return api.Network{}, err
	}

	status := api.NetworkStatusCreated
	switch {
	case n.State == db.NetworkPending:
		status = api.NetworkStatusPending
	case n.State == db.NetworkErrored:
		status = api.NetworkStatusErrored
	case m.unavailable[n.Name] != nil:
		status = api.NetworkStatusUnavailable
	}

	return api.Network{
		NetworkPut: api.NetworkPut{Config: maps.Clone(n.Config), Description: n.Description},
		Name:       n.Name,
		Type:       n.Type,
		UsedBy:     usedBy,
		Managed:    true,
		Status:     status,
		Locations:  []string{"none"},
	}, nil
}

// usedBy lists the URLs of the profiles and instances whose nic devices use the network (nil for none), profiles
// first as LXD lists them: the instances with such a device of their own and those using a profile that has one.
func usedBy(ctx context.Context, tx *db.Tx, name string) ([]string, error) {
	uses, err := tx.GetNetworkDeviceUses(ctx, name)
	if err != nil {
		return nil, err
	}

	instances := map[string]bool{}
	profiles := map[string]bool{}
	for _, u := range uses {
		if u.Owner == "profile" {
			profiles[u.Name] = true
			users, err := tx.GetProfileUsedBy(ctx, u.Name)
			if err != nil {
				return nil, err
			}

			for _, i := range users {
				instances[i] = true
			}
		} else {
			instances[u.Name] = true
		}
	}

	var out []string
	for _, p := range sortedKeys(profiles) {
		out = append(out, "/1.0/profiles/"+p)
	}

	for _, i := range sortedKeys(instances) {
		out = append(out, instance.URL(i))
	}

	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}

	sort.Strings(out)
	return out
}

// State returns the runtime state of a managed network's bridge or of a host interface.
func (m *Manager) State(ctx context.Context, name string) (*api.NetworkState, error) {
	_, err := m.Get(ctx, name)
	if err != nil {
		return nil, err
	}

	if !interfaceExists(name) {
		return nil, errs.NotFound("network interface %q not found", name)
	}

	return interfaceState(ctx, name)
}

// bridgeMAC is the MAC address of a bridge without bridge.hwaddr: a stable 00:16:3e address derived from its name.
func bridgeMAC(name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	s := h.Sum32()
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", byte(s>>16), byte(s>>8), byte(s))
}
