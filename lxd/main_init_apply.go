package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// applyPreseed applies a document as LXD 5.0.2 does: the server configuration, the storage pools, the networks of the
// default project, the projects, the networks of other projects and the profiles, each created when missing and
// updated when present (keys given are set, others kept; a description is replaced only when given). When a step
// fails, what the earlier steps created is deleted and what they updated is put back, newest first. On success it
// returns what undoes the whole document, for when the cluster step that follows fails.
func applyPreseed(d client.InstanceServer, config initLocalPreseed) (func(), error) {
	r := revert.New()
	defer r.Fail()

	err := applyServerConfig(d, r, config.Config)
	if err != nil {
		return nil, err
	}

	err = applyStoragePools(d, r, config.StoragePools)
	if err != nil {
		return nil, err
	}

	for i := range config.Networks {
		if config.Networks[i].Project == "" {
			config.Networks[i].Project = "default"
		}
	}

	for _, n := range config.Networks {
		if n.Project != "default" {
			continue
		}

		err = applyNetwork(d, r, n)
		if err != nil {
			return nil, err
		}
	}

	err = applyProjects(d, r, config.Projects)
	if err != nil {
		return nil, err
	}

	for _, n := range config.Networks {
		if n.Project == "default" {
			continue
		}

		err = applyNetwork(d, r, n)
		if err != nil {
			return nil, err
		}
	}

	err = applyProfiles(d, r, config.Profiles)
	if err != nil {
		return nil, err
	}

	undo := r.Clone().Fail
	r.Success()
	return undo, nil
}

// mergeConfig returns a copy of current with the keys of given set over it.
func mergeConfig(current map[string]string, given map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, current)
	maps.Copy(out, given)
	return out
}

func applyServerConfig(d client.InstanceServer, r *revert.Reverter, config map[string]any) error {
	if len(config) == 0 {
		return nil
	}

	current, etag, err := d.GetServer()
	if err != nil {
		return fmt.Errorf("Failed to retrieve current server configuration: %w", err)
	}

	old := current.Writable()
	old.Config = maps.Clone(old.Config)
	r.Add(func() { _ = d.UpdateServer(old, "") })

	next := current.Writable()
	next.Config = maps.Clone(next.Config)
	if next.Config == nil {
		next.Config = map[string]any{}
	}

	for k, v := range config {
		next.Config[k] = fmt.Sprintf("%v", v)
	}

	err = d.UpdateServer(next, etag)
	if err != nil {
		return fmt.Errorf("Failed to update server configuration: %w", err)
	}

	return nil
}

func applyStoragePools(d client.InstanceServer, r *revert.Reverter, pools []initStoragePool) error {
	if len(pools) == 0 {
		return nil
	}

	names, err := d.GetStoragePoolNames()
	if err != nil {
		return fmt.Errorf("Failed to retrieve list of storage pools: %w", err)
	}

	for _, pool := range pools {
		if !slices.Contains(names, pool.Name) {
			post := api.StoragePoolsPost{Name: pool.Name, Driver: pool.Driver}
			post.Config = pool.Config
			post.Description = pool.Description
			err := d.CreateStoragePool(post)
			if err != nil {
				return fmt.Errorf("Failed to create storage pool %q: %w", pool.Name, err)
			}

			name := pool.Name
			r.Add(func() { _ = d.DeleteStoragePool(name) })
			continue
		}

		current, etag, err := d.GetStoragePool(pool.Name)
		if err != nil {
			return fmt.Errorf("Failed to retrieve current storage pool %q: %w", pool.Name, err)
		}

		if current.Driver != pool.Driver {
			return fmt.Errorf("Storage pool %q is of type %q instead of %q", current.Name, current.Driver, pool.Driver)
		}

		old := current.Writable()
		old.Config = maps.Clone(old.Config)
		r.Add(func() { _ = d.UpdateStoragePool(current.Name, old, "") })

		next := current.Writable()
		if pool.Description != "" {
			next.Description = pool.Description
		}

		next.Config = mergeConfig(next.Config, pool.Config)
		err = d.UpdateStoragePool(current.Name, next, etag)
		if err != nil {
			return fmt.Errorf("Failed to update storage pool %q: %w", pool.Name, err)
		}
	}

	return nil
}

func applyNetwork(d client.InstanceServer, r *revert.Reverter, n initNetwork) error {
	pd := d.UseProject(n.Project)
	current, etag, err := pd.GetNetwork(n.Name)
	if err != nil || n.Name == "" {
		post := api.NetworksPost{Name: n.Name, Type: n.Type}
		post.Config = n.Config
		post.Description = n.Description
		err := pd.CreateNetwork(post)
		if err != nil {
			return fmt.Errorf("Failed to create local member network %q in project %q: %w", n.Name, n.Project, err)
		}

		name := n.Name
		r.Add(func() { _ = pd.DeleteNetwork(name) })
		return nil
	}

	next := current.Writable()
	if n.Description != "" {
		next.Description = n.Description
	}

	next.Config = mergeConfig(next.Config, n.Config)
	err = pd.UpdateNetwork(current.Name, next, etag)
	if err != nil {
		return fmt.Errorf("Failed to update local member network %q in project %q: %w", n.Name, n.Project, err)
	}

	old := current.Writable()
	r.Add(func() { _ = pd.UpdateNetwork(current.Name, old, "") })
	return nil
}

func applyProjects(d client.InstanceServer, r *revert.Reverter, projects []initProject) error {
	if len(projects) == 0 {
		return nil
	}

	if !d.HasExtension("projects") {
		return errors.New(`Failed to retrieve list of projects: the server lacks the "projects" API extension`)
	}

	existing, err := getProjects(d)
	if err != nil {
		return fmt.Errorf("Failed to retrieve list of projects: %w", err)
	}

	names := []string{}
	for _, p := range existing {
		names = append(names, p.Name)
	}

	for _, p := range projects {
		if !slices.Contains(names, p.Name) {
			err := createProject(d, p)
			if err != nil {
				return fmt.Errorf("Failed to create local member project %q: %w", p.Name, err)
			}

			name := p.Name
			r.Add(func() { _ = deleteProject(d, name) })
			continue
		}

		current, etag, err := getProject(d, p.Name)
		if err != nil {
			return fmt.Errorf("Failed to retrieve current project %q: %w", p.Name, err)
		}

		oldConfig := maps.Clone(current.Config)
		r.Add(func() { _ = updateProject(d, current.Name, oldConfig, current.Description, "") })

		description := current.Description
		if p.Description != "" {
			description = p.Description
		}

		err = updateProject(d, current.Name, mergeConfig(current.Config, p.Config), description, etag)
		if err != nil {
			return fmt.Errorf("Failed to update local member project %q: %w", p.Name, err)
		}
	}

	return nil
}

func applyProfiles(d client.InstanceServer, r *revert.Reverter, profiles []initProfile) error {
	if len(profiles) == 0 {
		return nil
	}

	names, err := d.GetProfileNames()
	if err != nil {
		return fmt.Errorf("Failed to retrieve list of profiles: %w", err)
	}

	for _, p := range profiles {
		if !slices.Contains(names, p.Name) {
			post := api.ProfilesPost{Name: p.Name}
			post.Config = p.Config
			post.Description = p.Description
			post.Devices = p.Devices
			err := d.CreateProfile(post)
			if err != nil {
				return fmt.Errorf("Failed to create profile %q: %w", p.Name, err)
			}

			name := p.Name
			r.Add(func() { _ = d.DeleteProfile(name) })
			continue
		}

		current, etag, err := d.GetProfile(p.Name)
		if err != nil {
			return fmt.Errorf("Failed to retrieve current profile %q: %w", p.Name, err)
		}

		old := current.Writable()
		r.Add(func() { _ = d.UpdateProfile(current.Name, old, "") })

		err = d.UpdateProfile(current.Name, mergeProfile(old, p), etag)
		if err != nil {
			return fmt.Errorf("Failed to update profile %q: %w", p.Name, err)
		}
	}

	return nil
}

// mergeProfile returns the profile current with the document's description (when given), configuration keys and
// devices set over it: a new device is added whole, the keys of an existing one are set over its own.
func mergeProfile(current api.ProfilePut, p initProfile) api.ProfilePut {
	next := api.ProfilePut{Description: current.Description}
	if p.Description != "" {
		next.Description = p.Description
	}

	next.Config = mergeConfig(current.Config, p.Config)
	next.Devices = map[string]map[string]string{}
	for name, dev := range current.Devices {
		next.Devices[name] = maps.Clone(dev)
	}

	for name, dev := range p.Devices {
		_, ok := next.Devices[name]
		if !ok {
			next.Devices[name] = maps.Clone(dev)
			continue
		}

		maps.Copy(next.Devices[name], dev)
	}

	return next
}
