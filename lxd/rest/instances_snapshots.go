package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instanceSnapshotsCmd = Endpoint{
	Path: "instances/{name}/snapshots",
	Get:  Action{Handler: instanceSnapshotsGet, Access: allowTrusted},
	Post: Action{Handler: instanceSnapshotsPost, Access: allowTrusted},
}

var instanceSnapshotCmd = Endpoint{
	Path:   "instances/{name}/snapshots/{snapshot}",
	Get:    Action{Handler: instanceSnapshotGet, Access: allowTrusted},
	Post:   Action{Handler: instanceSnapshotPost, Access: allowTrusted},
	Put:    Action{Handler: instanceSnapshotPut, Access: allowTrusted},
	Delete: Action{Handler: instanceSnapshotDelete, Access: allowTrusted},
}

var (
	containerSnapshotsCmd = containerAlias(instanceSnapshotsCmd)
	containerSnapshotCmd  = containerAlias(instanceSnapshotCmd)
)

// snapshotResources names a snapshot and its instance in operation resources.
func snapshotResources(name string, snap string) map[string][]string {
	res := instanceResources(name)
	res["instances_snapshots"] = []string{instance.SnapshotURL(name, snap)}
	return res
}

// snapshotVars reads the {name} and {snapshot} path variables.
func snapshotVars(r *http.Request) (string, string, error) {
	name, err := instanceName(r)
	if err != nil {
		return "", "", err
	}

	snap, err := request.PathVar(r, "snapshot")
	if err != nil {
		return "", "", err
	}

	return name, snap, nil
}

func instanceSnapshotsGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	snaps, err := s.Instances.Snapshots(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) > 0 {
		return response.SyncResponse(snaps)
	}

	urls := make([]string, 0, len(snaps))
	for _, snap := range snaps {
		urls = append(urls, instance.SnapshotURL(name, snap.Name))
	}

	return response.SyncResponse(urls)
}

func instanceSnapshotsPost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = checkRestrictedAction(s, r, "snapshots")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceSnapshotsPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	// A stateful snapshot needs CRIU, as LXD says when it has none; of a stopped instance there is no state to take.
	if req.Stateful && s.Instances.Status(name) == api.Stopped {
		return response.BadRequest(errors.New("unable to create a stateful snapshot: the instance isn't running"))
	}

	if req.Stateful {
		return response.BadRequest(errors.New("unable to create a stateful snapshot: CRIU is not supported by this server"))
	}

	if req.Name == "" {
		req.Name, err = s.Instances.NextSnapshotName(r.Context(), name)
		if err != nil {
			return response.SmartError(err)
		}
	}

	err = instance.ValidSnapshotName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Instances.Snapshot(r.Context(), name, req.Name)
	if err == nil {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "snapshot %q of instance %q already exists", req.Name, name))
	}

	var expires time.Time
	if req.ExpiresAt != nil {
		expires = req.ExpiresAt.UTC()
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Snapshotting instance",
		Resources:   snapshotResources(name, req.Name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.CreateSnapshot(ctx, name, req.Name, expires)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-snapshot-created", instance.SnapshotURL(name, req.Name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceSnapshotGet(s *state.State, r *http.Request) response.Response {
	name, snap, err := snapshotVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	out, err := s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(out, []any{out.ExpiresAt})
}

// instanceSnapshotPost renames a snapshot.
func instanceSnapshotPost(s *state.State, r *http.Request) response.Response {
	name, snap, err := snapshotVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceSnapshotPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Migration {
		return snapshotMigrate(s, r, name, snap, req)
	}

	err = instance.ValidSnapshotName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Renaming snapshot",
		Resources:   snapshotResources(name, snap),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.RenameSnapshot(ctx, name, snap, req.Name)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-snapshot-renamed", instance.SnapshotURL(name, req.Name),
				map[string]any{"old_name": snap})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instanceSnapshotPut changes a snapshot's expiry.
func instanceSnapshotPut(s *state.State, r *http.Request) response.Response {
	name, snap, err := snapshotVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("snapshot", name+"/"+snap)()

	cur, err := s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, []any{cur.ExpiresAt})
	if resp != nil {
		return resp
	}

	req := api.InstanceSnapshotPut{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.UpdateSnapshotExpiry(r.Context(), name, snap, req.ExpiresAt.UTC())
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Updating snapshot",
		Resources:   snapshotResources(name, snap),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			lifecycleBy(s, requestor, "instance-snapshot-updated", instance.SnapshotURL(name, snap), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceSnapshotDelete(s *state.State, r *http.Request) response.Response {
	name, snap, err := snapshotVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Deleting snapshot",
		Resources:   snapshotResources(name, snap),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.DeleteSnapshot(ctx, name, snap)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-snapshot-deleted", instance.SnapshotURL(name, snap), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instanceRestore restores an instance from one of its snapshots (PUT /1.0/instances/{name} with "restore").
func instanceRestore(s *state.State, r *http.Request, name string, snap string) response.Response {
	// The stock client names the snapshot as instance/snapshot.
	owner, short, ok := strings.Cut(snap, "/")
	if ok {
		if owner != name {
			return response.BadRequest(fmt.Errorf("snapshot %q is not a snapshot of instance %q", snap, name))
		}

		snap = short
	}

	_, err := s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Restoring snapshot",
		Resources:   snapshotResources(name, snap),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.RestoreSnapshot(ctx, name, snap)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-snapshot-restored", instance.URL(name),
				map[string]any{"snapshot": snap})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
