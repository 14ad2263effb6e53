package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// migrateArgs is a copy of an instance to another server.
type migrateArgs struct {
	// Name of the new instance.
	Name string

	// Config keys set on the copy; Profiles, when not nil, replace the source's.
	Config   map[string]string
	Profiles []string

	// Ephemeral makes the copy ephemeral.
	Ephemeral bool

	// InstanceOnly leaves the snapshots behind; Stateless copies a running instance as its files are.
	InstanceOnly bool
	Stateless    bool

	// Refresh brings an existing copy up to date (a plain copy when there is none).
	Refresh bool
}

// migrateInstance copies the instance (or the snapshot, instance/snapshot, as an instance) name of src to dst with
// the migration API, in pull mode: the source serves the websockets of its migration operation and the target
// connects to them.
func migrateInstance(src client.InstanceServer, dst client.InstanceServer, name string, args migrateArgs) error {
	for what, s := range map[string]client.InstanceServer{"source": src, "target": dst} {
		if !s.HasExtension("container_push") {
			return fmt.Errorf("the %s server is missing the required \"container_push\" API extension", what)
		}
	}

	parent, snap, isSnap := strings.Cut(name, "/")
	inst, _, err := src.GetInstance(parent)
	if err != nil {
		return err
	}

	if isSnap {
		s, _, err := src.GetInstanceSnapshot(parent, snap)
		if err != nil {
			return err
		}

		inst.Architecture, inst.Config, inst.Devices, inst.Profiles = s.Architecture, s.Config, s.Devices, s.Profiles
		inst.Ephemeral, inst.StatusCode = s.Ephemeral, api.Stopped
	}

	server, _, err := src.GetServer()
	if err != nil {
		return err
	}

	urls := sourceURLs(src, server.Environment.Addresses)
	if len(urls) == 0 {
		return errors.New("the source server has no network address for the target to connect to (core.https_address)")
	}

	req := api.InstancesPost{Name: args.Name, Type: api.InstanceTypeContainer}
	req.Architecture = inst.Architecture
	req.Description = inst.Description
	req.Ephemeral = inst.Ephemeral || args.Ephemeral
	req.Devices = inst.Devices
	req.Profiles = inst.Profiles
	if args.Profiles != nil {
		req.Profiles = args.Profiles
	}

	req.Config = map[string]string{}
	for k, v := range inst.Config {
		if !strings.HasPrefix(k, "volatile.") || k == "volatile.base_image" {
			req.Config[k] = v
		}
	}

	maps.Copy(req.Config, args.Config)
	live := inst.StatusCode == api.Running && !args.Stateless
	var srcOp client.Operation
	if isSnap {
		srcOp, err = src.RenameInstanceSnapshot(parent, snap, api.InstanceSnapshotPost{Migration: true})
	} else {
		srcOp, err = src.RenameInstance(name, api.InstancePost{Migration: true, Live: live, InstanceOnly: args.InstanceOnly})
	}

	if err != nil {
		return err
	}

	secrets := map[string]string{}
	for k, v := range srcOp.Get().Metadata {
		s, ok := v.(string)
		if ok {
			secrets[k] = s
		}
	}

	req.Source = api.InstanceSource{Type: "migration", Mode: "pull", Certificate: server.Environment.Certificate,
		Websockets: secrets, BaseImage: inst.Config["volatile.base_image"], InstanceOnly: args.InstanceOnly,
		Live: live, Refresh: args.Refresh}
	var dstErr error
	for _, u := range urls {
		req.Source.Operation = u + "/1.0/operations/" + url.PathEscape(srcOp.Get().ID)
		op, err := dst.CreateInstance(req)
		if err != nil {
			dstErr = err
			continue
		}

		dstErr = op.Wait()
		break
	}

	if dstErr != nil {
		_ = srcOp.Cancel()
		return dstErr
	}

	return srcOp.Wait()
}

// sourceURLs lists the base URLs a target may reach the source on: the one the client uses when it is HTTPS, then
// the addresses the server lists.
func sourceURLs(src client.InstanceServer, addresses []string) []string {
	var out []string
	info, err := src.GetConnectionInfo()
	if err == nil && strings.HasPrefix(info.URL, "https://") {
		out = append(out, strings.TrimSuffix(info.URL, "/"))
	}

	for _, a := range addresses {
		u := "https://" + a
		if len(out) == 0 || out[0] != u {
			out = append(out, u)
		}
	}

	return out
}
