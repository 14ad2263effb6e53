package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

// allowLocal lets in callers on the unix socket only.
func allowLocal(s *state.State, r *http.Request) response.Response {
	if request.GetRequestor(r).Protocol == "unix" {
		return nil
	}

	return response.Forbidden(nil)
}

// internalEndpoints are the daemon's own control endpoints, reachable only on the unix socket.
func (srv *Server) internalEndpoints() []Endpoint {
	return []Endpoint{
		{
			// A server that joins the cluster is accepted by a member (see lxd/cluster.Accept).
			Path: strings.TrimPrefix(cluster.AcceptPath, "/internal/"),
			Post: Action{Access: allowServerCertificate, Handler: internalClusterAccept},
		},
		{
			// A member removed from the cluster is told to leave it (see lxd/cluster.Leave).
			Path: strings.TrimPrefix(cluster.LeavePath, "/internal/"),
			Post: Action{Access: allowMember, Handler: internalClusterLeave},
		},
		{
			// A member copies an image another one stored (see lxd/cluster.ReplicateImage).
			Path: strings.TrimPrefix(cluster.ImageFetchPath, "/internal/"),
			Post: Action{Access: allowMember, Handler: internalClusterImageFetch},
		},
		{
			// Another member changed the configuration or the trust store.
			Path: strings.TrimPrefix(cluster.ReloadPath, "/internal/"),
			Post: Action{Access: allowMember, Handler: internalClusterReload},
		},
		{
			Path: "shutdown",
			Put: Action{Access: allowLocal, Handler: func(s *state.State, r *http.Request) response.Response {
				if srv.Shutdown == nil {
					return response.NotImplemented(nil)
				}

				// Stop after the answer is written, so the caller learns the request was taken.
				go srv.Shutdown()
				return response.EmptySyncResponse
			}},
		},
		{
			// Runs the periodic image refresh now, as the daemon does every images.auto_update_interval hours.
			Path: "tasks/images-auto-update",
			Post: Action{Access: allowLocal, Handler: func(s *state.State, r *http.Request) response.Response {
				return response.SmartError(s.Image.AutoUpdate(r.Context()))
			}},
		},
		{
			// Prunes unused cached images now, as the daemon does daily.
			Path: "tasks/images-prune",
			Post: Action{Access: allowLocal, Handler: func(s *state.State, r *http.Request) response.Response {
				_, err := s.Image.Prune(r.Context(), time.Now())
				return response.SmartError(err)
			}},
		},
		internalSQLCmd,
		{
			// As LXD's waitready: ready once the instances that start with the daemon have been started (the
			// rest of the API answers while they start).
			Path: "ready",
			Get: Action{Access: allowLocal, Handler: func(s *state.State, r *http.Request) response.Response {
				if s.Instances != nil && !s.Instances.Booted() {
					return response.ErrorResponse(http.StatusServiceUnavailable, "instances are still being started")
				}

				return response.EmptySyncResponse
			}},
		},
	}
}
