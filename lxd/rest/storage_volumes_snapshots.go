package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
)

var storageVolumeSnapshotsCmd = Endpoint{
	Path: "storage-pools/{name}/volumes/{type}/{volume}/snapshots",
	Get:  Action{Handler: storageVolumeSnapshotsGet, Access: allowTrusted},
	Post: Action{Handler: storageVolumeSnapshotsPost, Access: allowTrusted},
}

var storageVolumeSnapshotCmd = Endpoint{
	Path:   "storage-pools/{name}/volumes/{type}/{volume}/snapshots/{snapshot}",
	Get:    Action{Handler: storageVolumeSnapshotGet, Access: allowTrusted},
	Put:    Action{Handler: storageVolumeSnapshotPut, Access: allowTrusted},
	Patch:  Action{Handler: storageVolumeSnapshotPatch, Access: allowTrusted},
	Post:   Action{Handler: storageVolumeSnapshotPost, Access: allowTrusted},
	Delete: Action{Handler: storageVolumeSnapshotDelete, Access: allowTrusted},
}

// volumeSnapshotVars is volumeVars with the snapshot of the path.
func volumeSnapshotVars(s *state.State, r *http.Request) (vs *storage.Pools, pool string, volType string, name string, snap string, err error) {
	vs, pool, volType, name, err = volumeVars(s, r)
	if err != nil {
		return nil, "", "", "", "", err
	}

	snap, err = request.PathVar(r, "snapshot")
	return vs, pool, volType, name, snap, err
}

func storageVolumeSnapshotsGet(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	snaps, err := vs.VolumeSnapshots(r.Context(), pool, volType, name)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(snaps))
		for _, sn := range snaps {
			urls = append(urls, volumeSnapshotURL(vs, pool, volType, name, sn.Name))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(snaps)
}

// storageVolumeSnapshotsPost takes a snapshot in an operation, once the request is checked.
func storageVolumeSnapshotsPost(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, err := volumeVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.StorageVolumeSnapshotsPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	snap, err := vs.CheckVolumeSnapshot(r.Context(), pool, volType, name, req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	expiry := time.Time{}
	if req.ExpiresAt != nil {
		expiry = *req.ExpiresAt
	}

	requestor := request.GetRequestor(r)
	return volumeOperation(s, vs, requestor, "Snapshotting storage volume", pool, name, func(ctx context.Context) error {
		snap, err := vs.CreateVolumeSnapshot(ctx, pool, volType, name, snap, expiry)
		if err == nil {
			lifecycleBy(s, requestor, "storage-volume-snapshot-created", volumeSnapshotURL(vs, pool, volType, name, snap), nil)
		}

		return err
	})
}

// storageVolumeSnapshotETag is what a snapshot's ETag is computed from.
func storageVolumeSnapshotETag(sn *api.StorageVolumeSnapshot) any {
	return []any{sn.Name, sn.Description, sn.ExpiresAt}
}

func storageVolumeSnapshotGet(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, snap, err := volumeSnapshotVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	sn, err := vs.VolumeSnapshot(r.Context(), pool, volType, name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(sn, storageVolumeSnapshotETag(sn))
}

func storageVolumeSnapshotPut(s *state.State, r *http.Request) response.Response {
	return storageVolumeSnapshotUpdate(s, r, false)
}

func storageVolumeSnapshotPatch(s *state.State, r *http.Request) response.Response {
	return storageVolumeSnapshotUpdate(s, r, true)
}

// storageVolumeSnapshotUpdate replaces (PUT) or merges (PATCH) a snapshot's description and expiry.
func storageVolumeSnapshotUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	vs, pool, volType, name, snap, err := volumeSnapshotVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("storage-volume-snapshot", pool+"/"+volType+"/"+name+"/"+snap)()
	sn, err := vs.VolumeSnapshot(r.Context(), pool, volType, name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, storageVolumeSnapshotETag(sn))
	if resp != nil {
		return resp
	}

	put := api.StorageVolumeSnapshotPut{}
	if merge {
		put = sn.Writable()
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = vs.UpdateVolumeSnapshot(r.Context(), pool, volType, name, snap, put)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "storage-volume-snapshot-updated", volumeSnapshotURL(vs, pool, volType, name, snap), nil)
	return response.EmptySyncResponse
}

// storageVolumeSnapshotPost renames a snapshot in an operation.
func storageVolumeSnapshotPost(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, snap, err := volumeSnapshotVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.StorageVolumeSnapshotPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = vs.VolumeSnapshot(r.Context(), pool, volType, name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	return volumeOperation(s, vs, requestor, "Renaming storage volume snapshot", pool, name, func(ctx context.Context) error {
		err := vs.RenameVolumeSnapshot(ctx, pool, volType, name, snap, req.Name)
		if err == nil {
			lifecycleBy(s, requestor, "storage-volume-snapshot-renamed", volumeSnapshotURL(vs, pool, volType, name, req.Name),
				map[string]any{"old_name": snap})
		}

		return err
	})
}

// storageVolumeSnapshotDelete deletes a snapshot in an operation.
func storageVolumeSnapshotDelete(s *state.State, r *http.Request) response.Response {
	vs, pool, volType, name, snap, err := volumeSnapshotVars(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = vs.VolumeSnapshot(r.Context(), pool, volType, name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	return volumeOperation(s, vs, requestor, "Deleting storage volume snapshot", pool, name, func(ctx context.Context) error {
		err := vs.DeleteVolumeSnapshot(ctx, pool, volType, name, snap)
		if err == nil {
			lifecycleBy(s, requestor, "storage-volume-snapshot-deleted", volumeSnapshotURL(vs, pool, volType, name, snap), nil)
		}

		return err
	})
}
