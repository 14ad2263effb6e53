package rest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// clusterJoinTokenDescription is the description of the token operations of POST /1.0/cluster/members, as LXD's.
const clusterJoinTokenDescription = "Requesting a join token"

// clusterMembersPost starts a join token for a new member: a token operation that stays running until the new
// member joins with it, it is revoked or it expires. The client builds the token from the operation's metadata.
func clusterMembersPost(s *state.State, r *http.Request) response.Response {
	req := api.ClusterMembersPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	existing := s.Ops.Find(func(op *operations.Operation) bool {
		return isClusterJoinToken(op) && op.Status() == api.Running && op.Metadata()["serverName"] == req.ServerName
	})
	if existing != nil {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "A join token for member %q already exists", req.ServerName))
	}

	md, err := s.Cluster.NewJoinToken(r.Context(), req.ServerName)
	if err != nil {
		return response.SmartError(err)
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassToken,
		Description: clusterJoinTokenDescription,
		Metadata:    md,
		Resources:   map[string][]string{"cluster": {}},
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "cluster-token-created", "/1.0/operations/"+op.ID(), map[string]any{"name": req.ServerName})
	return operations.Response(op)
}

// isClusterJoinToken tells cluster join tokens apart from other token operations.
func isClusterJoinToken(op *operations.Operation) bool {
	if op.Class() != api.OperationClassToken {
		return false
	}

	_, ok := op.Metadata()["serverName"]
	return ok
}

// internalClusterAccept accepts a server that joins: its certificate must be the one a join token admitted.
func internalClusterAccept(s *state.State, r *http.Request) response.Response {
	req := cluster.AcceptRequest{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	resp, err := s.Cluster.Accept(r.Context(), request.GetRequestor(r).Fingerprint, req)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(resp)
}

// allowServerCertificate lets in callers presenting a certificate of the trust store's server type: a server that
// joins the cluster.
func allowServerCertificate(s *state.State, r *http.Request) response.Response {
	if request.GetRequestor(r).CertificateType == api.CertificateTypeServer {
		return nil
	}

	return response.Forbidden(nil)
}

// clusterMemberDelete removes a member from the cluster (?force=1: even one that cannot be told).
func clusterMemberDelete(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Cluster.RemoveMember(r.Context(), name, isTrue(r.URL.Query().Get("force")))
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "cluster-member-removed", clusterMemberURL(name), nil)
	return response.EmptySyncResponse
}

// internalClusterLeave makes this member leave the cluster another member removed it from.
func internalClusterLeave(s *state.State, r *http.Request) response.Response {
	return response.SmartError(s.Cluster.Leave(r.Context()))
}

// allowMember lets in the other members of the cluster (the cluster certificate) only.
func allowMember(s *state.State, r *http.Request) response.Response {
	if fromMember(r) {
		return nil
	}

	return response.Forbidden(nil)
}

// evacuateStopTimeout is how long an evacuation gives an instance to stop cleanly, unless its
// boot.host_shutdown_timeout says otherwise (LXD's default).
const evacuateStopTimeout = 30 * time.Second

var clusterMemberStateCmd = Endpoint{
	Path: "cluster/members/{name}/state",
	Post: Action{Handler: clusterMemberStatePost, Access: allowTrusted},
}

// clusterMemberStatePost evacuates a member (its instances stop, the scheduler leaves it out) or restores it, in an
// operation run by that member (the request is forwarded to it).
func clusterMemberStatePost(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.ClusterMemberStatePost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Mode != "" && req.Mode != "stop" {
		return response.SmartError(errs.Unsupported("evacuation mode %q is not supported: instances do not move between members yet", req.Mode))
	}

	requestor := request.GetRequestor(r)
	var desc, action string
	var run func(ctx context.Context, op *operations.Operation) error
	switch req.Action {
	case "evacuate":
		desc, action = "Evacuating cluster member", "cluster-member-evacuated"
		run = func(ctx context.Context, op *operations.Operation) error {
			return s.Cluster.Evacuate(ctx, name, func(ctx context.Context) error {
				return s.Instances.Evacuate(ctx, evacuateStopTimeout, func(inst string) {
					_ = op.UpdateMetadata(map[string]any{"evacuation_progress": fmt.Sprintf("Stopping %q", inst)})
				})
			})
		}

	case "restore":
		desc, action = "Restoring cluster member", "cluster-member-restored"
		run = func(ctx context.Context, op *operations.Operation) error {
			return s.Cluster.Restore(ctx, name, func(ctx context.Context) error {
				return s.Instances.Restore(ctx, func(inst string) {
					_ = op.UpdateMetadata(map[string]any{"evacuation_progress": fmt.Sprintf("Starting %q", inst)})
				})
			})
		}

	default:
		return response.SmartError(errs.Invalid("Unknown cluster member state action %q", req.Action))
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: desc,
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := run(ctx, op)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, action, clusterMemberURL(name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// internalClusterImageFetch copies the files of an image from the other members, as the member that stored it asks
// (cluster.images_minimal_replica).
func internalClusterImageFetch(s *state.State, r *http.Request) response.Response {
	fp := r.URL.Query().Get("fingerprint")
	if !images.ValidFingerprint(fp) {
		return response.SmartError(errs.Invalid("invalid image fingerprint %q", fp))
	}

	return response.SmartError(s.Cluster.FetchImage(r.Context(), fp, s.Image.FetchFiles))
}

// internalClusterReload reads the configuration and the trust store again: another member changed them.
func internalClusterReload(s *state.State, r *http.Request) response.Response {
	if s.ReloadCluster == nil {
		return response.EmptySyncResponse
	}

	return response.SmartError(s.ReloadCluster(r.Context()))
}
