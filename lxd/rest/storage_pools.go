package rest

import (
	"maps"
	"net/http"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var storagePoolsCmd = Endpoint{
	Path: "storage-pools",
	Get:  Action{Handler: storagePoolsGet, Access: allowTrusted},
	Post: Action{Handler: storagePoolsPost, Access: allowTrusted},
}

var storagePoolCmd = Endpoint{
	Path:   "storage-pools/{name}",
	Get:    Action{Handler: storagePoolGet, Access: allowTrusted},
	Put:    Action{Handler: storagePoolPut, Access: allowTrusted},
	Patch:  Action{Handler: storagePoolPatch, Access: allowTrusted},
	Delete: Action{Handler: storagePoolDelete, Access: allowTrusted},
}

var storagePoolResourcesCmd = Endpoint{
	Path: "storage-pools/{name}/resources",
	Get:  Action{Handler: storagePoolResourcesGet, Access: allowTrusted},
}

// storagePoolURL is the API path of a storage pool.
func storagePoolURL(name string) string {
	return "/1.0/storage-pools/" + name
}

func storagePoolsGet(s *state.State, r *http.Request) response.Response {
	pools, err := s.Storage.List(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(pools))
		for _, p := range pools {
			urls = append(urls, storagePoolURL(p.Name))
		}

		return response.SyncResponse(urls)
	}

	req := request.GetRequestor(r)
	for i := range pools {
		pools[i].UsedBy = visibleUsedBy(req, pools[i].UsedBy)
	}

	return response.SyncResponse(pools)
}

func storagePoolsPost(s *state.State, r *http.Request) response.Response {
	req := api.StoragePoolsPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("storage-pool", req.Name)()
	err = s.Storage.Create(r.Context(), req)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "storage-pool-created", storagePoolURL(req.Name), nil)
	return response.SyncResponseLocation(nil, storagePoolURL(req.Name))
}

// loadStoragePool reads the pool named in the path.
func loadStoragePool(s *state.State, r *http.Request) (*api.StoragePool, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return nil, err
	}

	return s.Storage.GetPool(r.Context(), name)
}

// storagePoolETag is what a pool's ETag is computed from.
func storagePoolETag(p *api.StoragePool) any {
	return []any{p.Name, p.Driver, p.Description, p.Config}
}

func storagePoolGet(s *state.State, r *http.Request) response.Response {
	p, err := loadStoragePool(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	p.UsedBy = visibleUsedBy(request.GetRequestor(r), p.UsedBy)
	return response.SyncResponseETag(p, storagePoolETag(p))
}

func storagePoolPut(s *state.State, r *http.Request) response.Response {
	return storagePoolUpdate(s, r, false)
}

func storagePoolPatch(s *state.State, r *http.Request) response.Response {
	return storagePoolUpdate(s, r, true)
}

// storagePoolUpdate replaces (PUT) or merges (PATCH) a pool's description and configuration.
func storagePoolUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("storage-pool", name)()
	p, err := loadStoragePool(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, storagePoolETag(p))
	if resp != nil {
		return resp
	}

	put := api.StoragePoolPut{}
	if merge {
		put.Description = p.Description
		put.Config = maps.Clone(p.Config)
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Storage.Update(r.Context(), p.Name, put)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "storage-pool-updated", storagePoolURL(p.Name), nil)
	return response.EmptySyncResponse
}

func storagePoolDelete(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("storage-pool", name)()
	err = s.Storage.Delete(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "storage-pool-deleted", storagePoolURL(name), nil)
	return response.EmptySyncResponse
}

func storagePoolResourcesGet(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	res, err := s.Storage.Resources(name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(res)
}
