package instance

import (
	"context"
	"runtime"
	"sort"
	"sync"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// FullInstance is an instance with its runtime state and snapshots, as GET /1.0/instances?recursion=2 shows it
// (without its backups, which the backup manager keeps).
type FullInstance struct {
	Instance  api.Instance
	State     *api.InstanceState
	Snapshots []api.InstanceSnapshot
}

// record is an instance's database row with its configuration and devices expanded by its profiles.
type record struct {
	inst    db.Instance
	config  map[string]string
	devices map[string]map[string]string
}

// ListFull returns the instances on this server (in a cluster, this member's) with their runtime state and
// snapshots, sorted by project and name. The rows, the profiles and the snapshots are read in one transaction; the
// runtime states (a few requests to each container's monitor and a walk of its root disk) are gathered outside it,
// several at once, so that a list neither holds the database nor waits on the containers one after the other.
func (m *Manager) ListFull(ctx context.Context) ([]FullInstance, error) {
	var recs []record
	snaps := map[string][]api.InstanceSnapshot{}
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		recs, err = m.records(ctx, tx)
		if err != nil {
			return err
		}

		for i := range recs {
			rows, err := tx.GetSnapshots(ctx, recs[i].inst.Name)
			if err != nil {
				return err
			}

			for j := range rows {
				snap, err := m.snapshotToAPI(ctx, tx, &rows[j])
				if err != nil {
					return err
				}

				snaps[recs[i].inst.Name] = append(snaps[recs[i].inst.Name], snap)
			}
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]FullInstance, len(recs))
	forEach(len(recs), func(i int) {
		r := &recs[i]
		st := m.runtimeState(r.inst.Name, r.inst.Config, r.devices)
		out[i] = FullInstance{
			Instance:  m.toAPIStatus(&r.inst, r.config, r.devices, api.StatusCode(st.StatusCode)),
			State:     st,
			Snapshots: snaps[r.inst.Name],
		}
	})

	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Instance, out[j].Instance
		if a.Project != b.Project {
			return a.Project < b.Project
		}

		return a.Name < b.Name
	})
	return out, nil
}

// records reads the rows of the instances on this server (in a cluster, this member's) and expands their
// configuration and devices with their profiles.
func (m *Manager) records(ctx context.Context, tx *db.Tx) ([]record, error) {
	insts, err := tx.GetLocalInstances(ctx)
	if err != nil {
		return nil, err
	}

	return m.expandRecords(ctx, tx, insts)
}

// expandRecords expands the configuration and devices of insts with their profiles.
func (m *Manager) expandRecords(ctx context.Context, tx *db.Tx, insts []db.Instance) ([]record, error) {

	profiles, err := tx.GetProfiles(ctx)
	if err != nil {
		return nil, err
	}

	byName := map[string]Profile{}
	for _, p := range profiles {
		byName[p.Name] = Profile{Name: p.Name, Config: p.Config, Devices: p.Devices}
	}

	out := make([]record, 0, len(insts))
	for i := range insts {
		var ps []Profile
		for _, name := range insts[i].Profiles {
			ps = append(ps, byName[name])
		}

		config, devices := Expand(ps, insts[i].Config, insts[i].Devices)
		out = append(out, record{inst: insts[i], config: config, devices: devices})
	}

	return out, nil
}

// runtimeState is the state of a container as the API reports it, from its driver, its root disk and its nics.
func (m *Manager) runtimeState(name string, config map[string]string, devices map[string]map[string]string) *api.InstanceState {
	rs := m.driver.State(name)
	status := m.settledStatus(name, rs.Status)
	out := &api.InstanceState{
		Status:     status.String(),
		StatusCode: status,
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

	nicState(config, devices, out.Network)
	return out
}

// settledStatus is a driver's status of a container as the API reports it: a container whose exit is seen but not
// yet handled (its power state recorded, its root unmounted, its nics released) is still reported running, so that
// a client that sees it stopped also sees what its stop recorded.
func (m *Manager) settledStatus(name string, s api.StatusCode) api.StatusCode {
	if s != api.Stopped {
		return s
	}

	m.runMu.Lock()
	r := m.running[name]
	m.runMu.Unlock()
	if r != nil && r.exited.Load() {
		return api.Running
	}

	return s
}

// forEach calls fn for 0 to n-1, a few at once: each call mostly waits on a container's monitor or the disk.
func forEach(n int, fn func(i int)) {
	workers := min(n, 4*runtime.GOMAXPROCS(0), 16)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}

		return
	}

	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}

	for i := range n {
		next <- i
	}

	close(next)
	wg.Wait()
}
