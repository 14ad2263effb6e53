package instance

import (
	"context"
	"slices"
	"sort"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/project"
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

// List returns the instances on this server (in a cluster, this member's) as the API shows them. The statuses are
// asked of the containers outside the transaction, several at once.
func (m *Manager) List(ctx context.Context) ([]api.Instance, error) {
	var recs []record
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		recs, err = m.records(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := make([]api.Instance, len(recs))
	forEach(len(recs), func(i int) {
		out[i] = m.toAPI(&recs[i].inst, recs[i].config, recs[i].devices)
	})

	sort.Slice(out, func(i, j int) bool {
		if out[i].Project != out[j].Project {
			return out[i].Project < out[j].Project
		}

		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ListOn returns the instances on another cluster member as the database records them, with status Error: what a
// list shows of them when that member does not answer.
func (m *Manager) ListOn(ctx context.Context, member string) ([]api.Instance, error) {
	var recs []record
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		insts = slices.DeleteFunc(insts, func(inst db.Instance) bool { return inst.Node != member })
		recs, err = m.expandRecords(ctx, tx, insts)
		return err
	})
	if err != nil {
		return nil, err
	}

	out := make([]api.Instance, 0, len(recs))
	for i := range recs {
		out = append(out, m.toAPIStatus(&recs[i].inst, recs[i].config, recs[i].devices, api.Error))
	}

	return out, nil
}

func (m *Manager) toAPI(inst *db.Instance, config map[string]string, devices map[string]map[string]string) api.Instance {
	return m.toAPIStatus(inst, config, devices, m.status(inst.Name))
}

// toAPIStatus is toAPI with the instance's status already known.
func (m *Manager) toAPIStatus(inst *db.Instance, config map[string]string, devices map[string]map[string]string, status api.StatusCode) api.Instance {
	profiles := make([]string, 0, len(inst.Profiles))
	for _, p := range inst.Profiles {
		profiles = append(profiles, project.ProfileName(p))
	}

	proj, name := project.SplitInstanceKey(inst.Name)
	location := inst.Node
	if location == "" {
		location = "none"
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
		Name:            name,
		Status:          status.String(),
		StatusCode:      status,
		LastUsedAt:      inst.LastUsedAt,
		Location:        location,
		Type:            api.InstanceTypeContainer,
		Project:         proj,
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

	return m.runtimeState(name, inst.Config, devices), nil
}
