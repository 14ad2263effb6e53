package rest

import (
	"context"
	"maps"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
)

var storageVolumesCmd = Endpoint{
	Path: "storage-pools/{name}/volumes",
	Get:  Action{Handler: storageVolumesGet, Access: allowTrusted},
	Post: Action{Handler: storageVolumesPost, Access: allowTrusted},
}

var storageVolumesTypeCmd = Endpoint{
	Path: "storage-pools/{name}/volumes/{type}",
	Get:  Action{Handler: storageVolumesGet, Access: allowTrusted},
	Post: Action{Handler: storageVolumesPost, Access: allowTrusted},
}

var storageVolumeCmd = Endpoint{
	Path:   "storage-pools/{name}/volumes/{type}/{volume}",
	Get:    Action{Handler: storageVolumeGet, Access: allowTrusted},
	Put:    Action{Handler: storageVolumePut, Access: allowTrusted},
	Patch:  Action{Handler: storageVolumePatch, Access: allowTrusted},
	Post:   Action{Handler: storageVolumePost, Access: allowTrusted},
	Delete: Action{Handler: storageVolumeDelete, Access: allowTrusted},
}

var storageVolumeStateCmd = Endpoint{
	Path: "storage-pools/{name}/volumes/{type}/{volume}/state",
	Get:  Action{Handler: storageVolumeStateGet, Access: allowTrusted},
}

// volumeVars returns the storage pools as the request's project sees them (see volumesOf) and reads the pool, the
// volume type ("" on the collection of every type) and the volume name ("" on collections) of the path.
func volumeVars(s *state.State, r *http.Request) (vs *storage.Pools, pool string, volType string, name string, err error) {
	pool, err = request.PathVar(r, "name")
	if err != nil {
		return nil, "", "", "", err
	}

	volType, err = request.PathVar(r, "type")
	if err != nil {
		return nil, "", "", "", err
	}

	if volType != "" {
		err = storage.ValidateVolumeType(volType)
		if err != nil {
			return nil, "", "", "", err
		}
	}

	name, err = request.PathVar(r, "volume")
	if err != nil {
		return nil, "", "", "", err
	}

	vs, err = volumesOf(s, r)
	return vs, pool, volType, name, err
}

// storageVolumesGet lists the volumes of a pool the request's project sees, or with ?all-projects=true those of
// every project (storage_volumes_all_projects).
func storageVolumesGet(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, _, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if isTrue(r.URL.Query().Get("all-projects")) {
		if r.URL.Query().Get("project") != "" {
			return response.ErrorResponse(http.StatusBadRequest, "cannot specify a project when requesting all projects")
		}

		vs = s.Storage.AllProjects()
	}

	vols, err := vs.Volumes(r.Context(), pool, volType)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(vols))
		for _, v := range vols {
			urls = append(urls, project.WithProject(storage.VolumeURL(pool, v.Type, v.Name), v.Project))
		}

		return response.SyncResponse(urls)
	}

	req := request.GetRequestor(r)
	for i := range vols {
		vols[i].UsedBy = visibleUsedBy(req, vols[i].UsedBy)
	}

	return response.SyncResponse(vols)
}

// storageVolumesPost creates a custom volume at once, or copies one in an operation.
func storageVolumesPost(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, _, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.StorageVolumesPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if volType != "" {
		req.Type = volType
	}

	if req.Type == "" {
		req.Type = storage.VolumeTypeCustom
	}

	if req.Source.Type != "copy" {
		err = vs.CreateVolume(r.Context(), pool, req)
		if err != nil {
			return response.SmartError(err)
		}

		url := vs.VolumeURL(pool, req.Type, req.Name)
		lifecycle(s, r, "storage-volume-created", url, map[string]any{"type": req.Type})
		return response.SyncResponseLocation(nil, url)
	}

	if req.Name == "" {
		req.Name = req.Source.Name
	}

	// The source may be in another project (lxc storage volume copy --target-project): a restricted client must be
	// allowed there too. What can be checked at once is: the source exists and the name is valid.
	from := vs
	if req.Source.Project != "" && req.Source.Project != requestProject(r) {
		if !request.GetRequestor(r).CanAccessProject(req.Source.Project) {
			return response.Forbidden(nil)
		}

		from, err = volumesIn(s, r, req.Source.Project)
		if err != nil {
			return response.SmartError(err)
		}
	}

	srcPool := req.Source.Pool
	if srcPool == "" {
		srcPool = pool
	}

	err = storage.ValidateVolumeName("storage volume", req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = from.Volume(r.Context(), srcPool, storage.VolumeTypeCustom, volumeOf(req.Source.Name))
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	url := vs.VolumeURL(pool, req.Type, req.Name)
	return volumeOperation(s, vs, requestor, "Copying storage volume", pool, req.Name, func(ctx context.Context) error {
		err := vs.CopyVolume(ctx, from, pool, req, false)
		if err == nil {
			lifecycleBy(s, requestor, "storage-volume-created", url, map[string]any{"type": req.Type})
		}

		return err
	})
}

// volumeOf is the volume part of "<volume>/<snapshot>".
func volumeOf(name string) string {
	for i := range len(name) {
		if name[i] == '/' {
			return name[:i]
		}
	}

	return name
}

// volumeOperation runs fn in a task operation on a volume.
func volumeOperation(s *state.State, vs *storage.Pools, requestor *request.Requestor, what string, pool string, name string, fn func(ctx context.Context) error) response.Response {
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: what,
		Resources:   map[string][]string{"storage_volumes": {vs.VolumeURL(pool, storage.VolumeTypeCustom, name)}},
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			return fn(ctx)
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// storageVolumeETag is what a volume's ETag is computed from.
func storageVolumeETag(v *api.StorageVolume) any {
	return []any{v.Name, v.Type, v.Description, v.Config}
}

func storageVolumeGet(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	v, err := vs.Volume(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	v.UsedBy = visibleUsedBy(request.GetRequestor(r), v.UsedBy)
	return response.SyncResponseETag(v, storageVolumeETag(v))
}

func storageVolumePut(s *state.State, r *http.Request) response.Response {
	return storageVolumeUpdate(s, r, false)
}

func storageVolumePatch(s *state.State, r *http.Request) response.Response {
	return storageVolumeUpdate(s, r, true)
}

// storageVolumeUpdate replaces (PUT) or merges (PATCH) a volume's description and configuration, or restores it
// from a snapshot (a PUT with "restore").
func storageVolumeUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("storage-volume", pool+"/"+volType+"/"+name)()
	v, err := vs.Volume(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, storageVolumeETag(v))
	if resp != nil {
		return resp
	}

	put := api.StorageVolumePut{}
	if merge {
		put.Description = v.Description
		put.Config = maps.Clone(v.Config)
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = vs.UpdateVolume(r.Context(), pool, volType, name, put)
	if err != nil {
		return response.SmartError(err)
	}

	action := "storage-volume-updated"
	if put.Restore != "" {
		action = "storage-volume-restored"
	}

	lifecycle(s, r, action, vs.VolumeURL(pool, volType, name), nil)
	return response.EmptySyncResponse
}

// storageVolumePost renames a volume at once, or moves it to another pool in an operation.
func storageVolumePost(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.StorageVolumePost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = vs.Volume(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Name == "" {
		req.Name = name
	}

	requestor := request.GetRequestor(r)
	if req.Pool == "" || req.Pool == pool {
		err = vs.RenameVolume(r.Context(), pool, volType, name, req)
		if err != nil {
			return response.SmartError(err)
		}

		url := vs.VolumeURL(pool, volType, req.Name)
		lifecycle(s, r, "storage-volume-renamed", url, map[string]any{"old_name": name})
		return response.SyncResponseLocation(nil, url)
	}

	_, err = vs.GetPool(r.Context(), req.Pool)
	if err != nil {
		return response.SmartError(err)
	}

	return volumeOperation(s, vs, requestor, "Moving storage volume", pool, name, func(ctx context.Context) error {
		err := vs.RenameVolume(ctx, pool, volType, name, req)
		if err == nil {
			lifecycleBy(s, requestor, "storage-volume-moved", vs.VolumeURL(req.Pool, volType, req.Name),
				map[string]any{"old_name": name, "old_pool": pool})
		}

		return err
	})
}

func storageVolumeDelete(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = vs.DeleteVolume(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "storage-volume-deleted", vs.VolumeURL(pool, volType, name), nil)
	return response.EmptySyncResponse
}

func storageVolumeStateGet(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	st, err := vs.VolumeState(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(st)
}

// volumeSnapshotURL is the API path of a snapshot of a volume as vs sees it, with its project.
func volumeSnapshotURL(vs *storage.Pools, pool string, volType string, name string, snap string) string {
	return project.WithProject(storage.VolumeURL(pool, volType, name)+"/snapshots/"+url.PathEscape(snap), vs.VolumeProject(volType))
}
