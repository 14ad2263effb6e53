package rest

import (
	"maps"
	"net/http"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/network"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var networksCmd = Endpoint{
	Path: "networks",
	Get:  Action{Handler: withNetworks(networksGet), Access: allowTrusted},
	Post: Action{Handler: withNetworks(networksPost), Access: allowTrusted},
}

var networkCmd = Endpoint{
	Path:   "networks/{name}",
	Get:    Action{Handler: withNetworks(networkGet), Access: allowTrusted},
	Put:    Action{Handler: withNetworks(networkPut), Access: allowTrusted},
	Patch:  Action{Handler: withNetworks(networkPatch), Access: allowTrusted},
	Post:   Action{Handler: withNetworks(networkPost), Access: allowTrusted},
	Delete: Action{Handler: withNetworks(networkDelete), Access: allowTrusted},
}

var networkStateCmd = Endpoint{
	Path: "networks/{name}/state",
	Get:  Action{Handler: withNetworks(networkStateGet), Access: allowTrusted},
}

var networkLeasesCmd = Endpoint{
	Path: "networks/{name}/leases",
	Get:  Action{Handler: withNetworks(networkLeasesGet), Access: allowTrusted},
}

// withNetworks hands a handler the network manager; a server without one (no managed networks) answers 501. A
// request in a project with features.networks reaches that project's networks, which hold none (see
// lxd/network/project.go): it is answered here.
func withNetworks(h func(s *state.State, nets *network.Manager, r *http.Request) response.Response) func(s *state.State, r *http.Request) response.Response {
	return func(s *state.State, r *http.Request) response.Response {
		if s.Networks == nil {
			return response.SmartError(errs.Unsupported("networks are not available on this server"))
		}

		p, err := networksProject(s, r)
		if err != nil {
			return response.SmartError(err)
		}

		if p != network.DefaultProject {
			return projectNetworks(r, p)
		}

		return h(s, s.Networks, r)
	}
}

// networksProject is the project whose networks a request reaches: the request's own with features.networks,
// else default's, as LXD resolves it.
func networksProject(s *state.State, r *http.Request) (string, error) {
	return featureProject(s, r, requestProject(r), "networks")
}

// projectNetworks answers a request on the networks of project p, which holds none: an empty list, a creation
// refused as LXD refuses it, and "not found" for a network.
func projectNetworks(r *http.Request, p string) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	if name != "" {
		return response.SmartError(errs.NotFound("network not found"))
	}

	if r.Method == http.MethodPost {
		req := api.NetworksPost{}
		err := request.DecodeJSON(r, &req)
		if err != nil {
			return response.SmartError(err)
		}

		return response.SmartError(network.CheckCreateIn(p, req))
	}

	if recursion(r) == 0 {
		return response.SyncResponse([]string{})
	}

	return response.SyncResponse([]api.Network{})
}

func networksGet(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	list, err := nets.List(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(list))
		for _, n := range list {
			urls = append(urls, network.URL(n.Name))
		}

		return response.SyncResponse(urls)
	}

	if list == nil {
		list = []api.Network{}
	}

	req := request.GetRequestor(r)
	for i := range list {
		list[i].UsedBy = visibleUsedBy(req, list[i].UsedBy)
	}

	return response.SyncResponse(list)
}

func networksPost(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	req := api.NetworksPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = nets.Create(r.Context(), req)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "network-created", network.URL(req.Name), nil)
	return response.SyncResponseLocation(nil, network.URL(req.Name))
}

// networkETag is what a network's ETag is computed from.
func networkETag(n *api.Network) any {
	return []any{n.Name, n.Managed, n.Type, n.Description, n.Config}
}

// loadNetwork reads the network named in the path.
func loadNetwork(nets *network.Manager, r *http.Request) (*api.Network, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return nil, err
	}

	return nets.Get(r.Context(), name)
}

func networkGet(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	n, err := loadNetwork(nets, r)
	if err != nil {
		return response.SmartError(err)
	}

	n.UsedBy = visibleUsedBy(request.GetRequestor(r), n.UsedBy)
	return response.SyncResponseETag(n, networkETag(n))
}

func networkPut(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	return networkUpdate(s, nets, r, false)
}

func networkPatch(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	return networkUpdate(s, nets, r, true)
}

// networkUpdate replaces (PUT) or merges (PATCH: the given keys are set, the others kept) a managed network.
func networkUpdate(s *state.State, nets *network.Manager, r *http.Request, merge bool) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("network", name)()
	n, err := loadNetwork(nets, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !n.Managed {
		return response.SmartError(errs.NotFound("network not found"))
	}

	resp := checkETag(r, networkETag(n))
	if resp != nil {
		return resp
	}

	put := api.NetworkPut{}
	if merge {
		put.Description = n.Description
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	if merge {
		config := maps.Clone(n.Config)
		maps.Copy(config, put.Config)
		put.Config = config
	}

	err = nets.Update(r.Context(), n.Name, put)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "network-updated", network.URL(n.Name), nil)
	return response.EmptySyncResponse
}

// networkPost renames a managed network.
func networkPost(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	n, err := loadNetwork(nets, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !n.Managed {
		return response.SmartError(errs.NotFound("network not found"))
	}

	req := api.NetworkPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = nets.Rename(r.Context(), n.Name, req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "network-renamed", network.URL(req.Name), map[string]any{"old_name": n.Name})
	return response.SyncResponseLocation(nil, network.URL(req.Name))
}

func networkDelete(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	n, err := loadNetwork(nets, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !n.Managed {
		return response.SmartError(errs.NotFound("network not found"))
	}

	err = nets.Delete(r.Context(), n.Name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "network-deleted", network.URL(n.Name), nil)
	return response.EmptySyncResponse
}

func networkStateGet(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	st, err := nets.State(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(st)
}

func networkLeasesGet(s *state.State, nets *network.Manager, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	leases, err := nets.Leases(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(leases)
}
