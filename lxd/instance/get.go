package instance

import (
	"context"
	"sort"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// Get returns an instance as the API shows it.
func (m *Manager) Get(ctx context.Context, name string) (*api.Instance, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	out := m.toAPI(inst, config, devices)
	return &out, nil
}

// List returns every instance as the API shows it.
func (m *Manager) List(ctx context.Context) ([]api.Instance, error) {
	var out []api.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		profiles, err := tx.GetProfiles(ctx)
		if err != nil {
			return err
		}

		byName := map[string]Profile{}
		for _, p := range profiles {
			byName[p.Name] = Profile{Name: p.Name, Config: p.Config, Devices: p.Devices}
		}

		out = make([]api.Instance, 0, len(insts))
		for i := range insts {
			var ps []Profile
			for _, name := range insts[i].Profiles {
				ps = append(ps, byName[name])
			}

			config, devices := Expand(ps, insts[i].Config, insts[i].Devices)
			out = append(out, m.toAPI(&insts[i], config, devices))
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Manager) toAPI(inst *db.Instance, config map[string]string, devices map[string]map[string]string) api.Instance {
	status := m.status(inst.Name)
	profiles := inst.Profiles
	if profiles == nil {
		profiles = []string{}
	}

	return api.Instance{
		InstancePut: api.InstancePut{
			Architecture: inst.Architecture,
			Config:       inst.Config,
			Devices:      inst.Devices,
			Ephemeral:    inst.Ephemeral,
			Profiles:     profiles,
			Stateful:     inst.Stateful,
			Description:  inst.Description,
		},
		CreatedAt:       inst.CreatedAt,
		ExpandedConfig:  config,
		ExpandedDevices: devices,
		Name:            inst.Name,
		Status:          status.String(),
		StatusCode:      status,
		LastUsedAt:      inst.LastUsedAt,
		Location:        "none",
		Type:            api.InstanceTypeContainer,
		Project:         "default",
	}
}

// State returns the runtime state of an instance.
func (m *Manager) State(ctx context.Context, name string) (*api.InstanceState, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	_, devices, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	rs := m.driver.State(name)
	out := &api.InstanceState{
		Status:     rs.Status.String(),
		StatusCode: rs.Status,
		Disk:       map[string]api.InstanceStateDisk{},
		Memory:     rs.Memory,
		Network:    rs.Network,
		Pid:        rs.Pid,
		Processes:  rs.Processes,
		CPU:        rs.CPU,
	}

	rootName, _, ok := RootDisk(devices)
	if ok {
		out.Disk[rootName] = api.InstanceStateDisk{Usage: m.pool.ContainerUsage(name)}
	}

	if out.Network == nil {
		out.Network = map[string]api.InstanceStateNetwork{}
	}

	nicState(inst.Config, devices, out.Network)

	return out, nil
}
