package rest

import (
	"context"
	"net/http"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var clusterCmd = Endpoint{
	Path: "cluster",
	Get:  Action{Handler: clusterGet, Access: allowTrusted},
	Put:  Action{Handler: clusterPut, Access: allowTrusted},
}

var clusterMembersCmd = Endpoint{
	Path: "cluster/members",
	Get:  Action{Handler: clusterMembersGet, Access: allowTrusted},
	Post: Action{Handler: clusterMembersPost, Access: allowTrusted},
}

var clusterMemberCmd = Endpoint{
	Path:   "cluster/members/{name}",
	Get:    Action{Handler: clusterMemberGet, Access: allowTrusted},
	Put:    Action{Handler: clusterMemberPut, Access: allowTrusted},
	Patch:  Action{Handler: clusterMemberPatch, Access: allowTrusted},
	Post:   Action{Handler: clusterMemberPost, Access: allowTrusted},
	Delete: Action{Handler: clusterMemberDelete, Access: allowTrusted},
}

// clusterMemberURL is the API path of a member.
func clusterMemberURL(name string) string {
	return "/1.0/cluster/members/" + name
}

// clusterGet shows whether the server is clustered and, when it is, its member name.
func clusterGet(s *state.State, r *http.Request) response.Response {
	info, err := s.Cluster.Info(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(info, info)
}

// clusterPut enables clustering on this server (server_name set, enabled true, no cluster_address): it becomes the
// first member of a new cluster, in a background operation.
func clusterPut(s *state.State, r *http.Request) response.Response {
	req := api.ClusterPut{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Cluster.CheckPut(req)
	if err != nil {
		return response.SmartError(err)
	}

	info, err := s.Cluster.Info(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	deny := checkETag(r, info)
	if deny != nil {
		return deny
	}

	requestor := request.GetRequestor(r)
	name := req.ServerName
	if cluster.IsJoin(req) {
		op, err := s.Ops.Create(operations.Args{
			Class:       api.OperationClassTask,
			Description: "Joining cluster",
			Requestor:   requestor,
			Run: func(ctx context.Context, op *operations.Operation) error {
				err := s.Cluster.Join(ctx, req)
				if err != nil {
					return err
				}

				lifecycleBy(s, requestor, "cluster-member-added", clusterMemberURL(name), nil)
				return nil
			},
		})
		if err != nil {
			return response.SmartError(err)
		}

		return operations.Response(op)
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Creating bootstrap node",
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Cluster.Enable(ctx, name)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "cluster-enabled", clusterMemberURL(name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// clusterMembersGet lists the members: URLs, or full records with recursion=1.
func clusterMembersGet(s *state.State, r *http.Request) response.Response {
	if !s.Cluster.Clustered() {
		// LXD answers an empty list on a server that is not clustered.
		if recursion(r) == 0 {
			return response.SyncResponse([]string{})
		}

		return response.SyncResponse([]api.ClusterMember{})
	}

	members, err := s.Cluster.Members(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(members))
		for _, m := range members {
			urls = append(urls, clusterMemberURL(m.ServerName))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(members)
}

func clusterMemberGet(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	member, err := s.Cluster.Member(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(member, member.Writable())
}

// clusterMemberPut replaces a member's description, failure domain, configuration and roles.
func clusterMemberPut(s *state.State, r *http.Request) response.Response {
	return clusterMemberUpdate(s, r, false)
}

// clusterMemberPatch changes the fields of a member the request carries.
func clusterMemberPatch(s *state.State, r *http.Request) response.Response {
	return clusterMemberUpdate(s, r, true)
}

func clusterMemberUpdate(s *state.State, r *http.Request, patch bool) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	unlock := lockUpdate("cluster-member", name)
	defer unlock()
	member, err := s.Cluster.Member(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	deny := checkETag(r, member.Writable())
	if deny != nil {
		return deny
	}

	req := api.ClusterMemberPut{}
	if patch {
		req = member.Writable()
	}

	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Cluster.UpdateMember(r.Context(), name, req)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "cluster-member-updated", clusterMemberURL(name), nil)
	return response.SyncResponse(nil)
}

// clusterMemberPost renames a member.
func clusterMemberPost(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.ClusterMemberPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Cluster.RenameMember(r.Context(), name, req.ServerName)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "cluster-member-renamed", clusterMemberURL(req.ServerName), map[string]any{"old_name": name})
	return response.SyncResponse(nil)
}

var clusterCertificateCmd = Endpoint{
	Path: "cluster/certificate",
	Put:  Action{Handler: clusterCertificatePut, Access: allowTrusted},
}

// clusterCertificatePut replaces the cluster certificate and key (PEM) of a member.
func clusterCertificatePut(s *state.State, r *http.Request) response.Response {
	req := api.ClusterCertificatePut{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	cert, err := s.Cluster.UpdateCertificate(r.Context(), []byte(req.ClusterCertificate), []byte(req.ClusterCertificateKey))
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "cluster-certificate-updated", "/1.0/cluster/certificate", map[string]any{"fingerprint": cert.Fingerprint()})
	return response.EmptySyncResponse
}
