package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/cluster"
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
