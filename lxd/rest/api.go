// Package rest holds the REST API: the endpoint table, the router that enforces its policies, and one handler file
// per resource.
package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

// Handler serves one method of one endpoint.
type Handler func(s *state.State, r *http.Request) response.Response

// AccessCheck returns nil when the caller may go on, or the response refusing it.
type AccessCheck func(s *state.State, r *http.Request) response.Response

// Action is one method of an endpoint with its access policy.
type Action struct {
	Handler Handler

	// AllowUntrusted lets any caller in; the handler then decides what an untrusted caller sees.
	AllowUntrusted bool

	// Access decides for callers that are not let in by AllowUntrusted.
	Access AccessCheck
}

// Endpoint is one path of the API and its methods.
type Endpoint struct {
	Path   string
	Get    Action
	Put    Action
	Post   Action
	Delete Action
	Patch  Action
	Head   Action
}

// allowTrusted lets in trusted callers only.
func allowTrusted(s *state.State, r *http.Request) response.Response {
	if request.GetRequestor(r).Trusted {
		return nil
	}

	return response.Forbidden(nil)
}

// api10 is the table of every endpoint under /1.0. Nothing else registers routes.
var api10 = []Endpoint{
	serverCmd,
	operationsCmd,
	operationCmd,
	operationWaitCmd,
	operationWebsocketCmd,
	eventsCmd,
	certificatesCmd,
	certificateCmd,
	imagesCmd,
	imageAliasesCmd,
	imageAliasCmd,
	imageCmd,
	imageExportCmd,
	imageSecretCmd,
	imageRefreshCmd,
	instancesBulkCmd,
	instanceCmd,
	instanceStateCmd,
	instanceSnapshotsCmd,
	instanceSnapshotCmd,
	instanceBackupsCmd,
	instanceBackupCmd,
	instanceBackupExportCmd,
	containerBackupsCmd,
	containerBackupCmd,
	containerBackupExportCmd,
	containersCmd,
	containerCmd,
	containerStateCmd,
	containerSnapshotsCmd,
	containerSnapshotCmd,
	instanceExecCmd,
	containerExecCmd,
	instanceFilesCmd,
	containerFilesCmd,
	instanceLogsCmd,
	instanceLogCmd,
	containerLogsCmd,
	containerLogCmd,
	instanceConsoleCmd,
	containerConsoleCmd,
	instanceMetadataCmd,
	instanceMetadataTemplatesCmd,
	containerMetadataCmd,
	containerMetadataTemplatesCmd,
	profilesCmd,
	profileCmd,
	storagePoolsCmd,
	storagePoolCmd,
	storagePoolResourcesCmd,
	storageVolumesCmd,
	storageVolumesTypeCmd,
	storageVolumeCmd,
	storageVolumeStateCmd,
	storageVolumeSnapshotsCmd,
	storageVolumeSnapshotCmd,
	networksCmd,
	networkCmd,
	networkStateCmd,
	networkLeasesCmd,
	warningsCmd,
	warningCmd,
	clusterCmd,
	clusterMembersCmd,
	clusterMemberCmd,
	clusterMemberStateCmd,
	clusterCertificateCmd,
	resourcesCmd,
	metricsCmd,
	projectsCmd,
	projectCmd,
	projectStateCmd,
}

// projectScopes declares how each endpoint of api10 reads ?project= (see ProjectScope), keyed by Endpoint.Path, as
// LXD 5.0.2 scopes them. Every endpoint is listed here (a test checks it); one that is not is ProjectScoped, so
// that it never serves the default project's objects under another project's name.
var projectScopes = map[string]ProjectScope{
	"":                                                   ProjectUnscoped,
	"operations":                                         ProjectUnscoped,
	"operations/{id}":                                    ProjectUnscoped,
	"operations/{id}/wait":                               ProjectUnscoped,
	"operations/{id}/websocket":                          ProjectUnscoped,
	"events":                                             ProjectScoped,
	"certificates":                                       ProjectUnscoped,
	"certificates/{fingerprint}":                         ProjectUnscoped,
	"warnings":                                           ProjectUnscoped,
	"warnings/{uuid}":                                    ProjectUnscoped,
	"cluster":                                            ProjectUnscoped,
	"cluster/members":                                    ProjectUnscoped,
	"cluster/members/{name}":                             ProjectUnscoped,
	"cluster/members/{name}/state":                       ProjectUnscoped,
	"cluster/certificate":                                ProjectUnscoped,
	"metrics":                                            ProjectUnscoped,
	"images":                                             ProjectScoped,
	"images/aliases":                                     ProjectScoped,
	"images/aliases/{name:.+}":                           ProjectScoped,
	"images/{fingerprint}":                               ProjectScoped,
	"images/{fingerprint}/export":                        ProjectScoped,
	"images/{fingerprint}/secret":                        ProjectScoped,
	"images/{fingerprint}/refresh":                       ProjectScoped,
	"instances":                                          ProjectListed,
	"instances/{name}":                                   ProjectScoped,
	"instances/{name}/state":                             ProjectScoped,
	"instances/{name}/snapshots":                         ProjectScoped,
	"instances/{name}/snapshots/{snapshot}":              ProjectScoped,
	"instances/{name}/backups":                           ProjectScoped,
	"instances/{name}/backups/{backup}":                  ProjectScoped,
	"instances/{name}/backups/{backup}/export":           ProjectScoped,
	"instances/{name}/exec":                              ProjectScoped,
	"instances/{name}/files":                             ProjectScoped,
	"instances/{name}/logs":                              ProjectScoped,
	"instances/{name}/logs/{file}":                       ProjectScoped,
	"instances/{name}/console":                           ProjectScoped,
	"instances/{name}/metadata":                          ProjectScoped,
	"instances/{name}/metadata/templates":                ProjectScoped,
	"containers":                                         ProjectListed,
	"containers/{name}":                                  ProjectScoped,
	"containers/{name}/state":                            ProjectScoped,
	"containers/{name}/snapshots":                        ProjectScoped,
	"containers/{name}/snapshots/{snapshot}":             ProjectScoped,
	"containers/{name}/backups":                          ProjectScoped,
	"containers/{name}/backups/{backup}":                 ProjectScoped,
	"containers/{name}/backups/{backup}/export":          ProjectScoped,
	"containers/{name}/exec":                             ProjectScoped,
	"containers/{name}/files":                            ProjectScoped,
	"containers/{name}/logs":                             ProjectScoped,
	"containers/{name}/logs/{file}":                      ProjectScoped,
	"containers/{name}/console":                          ProjectScoped,
	"containers/{name}/metadata":                         ProjectScoped,
	"containers/{name}/metadata/templates":               ProjectScoped,
	"profiles":                                           ProjectScoped,
	"profiles/{name}":                                    ProjectScoped,
	"storage-pools":                                      ProjectUnscoped,
	"storage-pools/{name}":                               ProjectUnscoped,
	"storage-pools/{name}/resources":                     ProjectUnscoped,
	"storage-pools/{name}/volumes":                       ProjectScoped,
	"storage-pools/{name}/volumes/{type}":                ProjectScoped,
	"storage-pools/{name}/volumes/{type}/{volume}":       ProjectScoped,
	"storage-pools/{name}/volumes/{type}/{volume}/state": ProjectScoped,
	"storage-pools/{name}/volumes/{type}/{volume}/snapshots":            ProjectScoped,
	"storage-pools/{name}/volumes/{type}/{volume}/snapshots/{snapshot}": ProjectScoped,
	"networks":               ProjectScoped,
	"networks/{name}":        ProjectScoped,
	"networks/{name}/state":  ProjectScoped,
	"networks/{name}/leases": ProjectScoped,
	"resources":              ProjectUnscoped,
	"projects":               ProjectUnscoped,
	"projects/{name}":        ProjectUnscoped,
	"projects/{name}/state":  ProjectUnscoped,
}

// Server builds the HTTP handler of the API.
type Server struct {
	State *state.State

	// Authenticate tells who sent the request. It is called once per request.
	Authenticate func(r *http.Request) *request.Requestor

	// Ready reports whether the daemon accepts requests (false while starting or stopping).
	Ready func() bool

	// Shutdown stops the daemon; it is called by the local shutdown endpoint.
	Shutdown func()
}

// Handler returns the router serving the whole API.
func (srv *Server) Handler() http.Handler {
	router := mux.NewRouter()
	router.StrictSlash(false)
	router.SkipClean(true)
	router.UseEncodedPath()

	srv.register(router, "/", rootCmd, ProjectUnscoped)
	seen := map[string]bool{}
	for _, ep := range api10 {
		path := "/1.0"
		if ep.Path != "" {
			path += "/" + ep.Path
		}

		if seen[path] {
			panic(fmt.Sprintf("duplicate endpoint %q", path))
		}

		seen[path] = true
		srv.register(router, path, ep, projectScopes[ep.Path])
	}

	for _, ep := range streamsEndpoints {
		if seen[ep.Path] {
			panic(fmt.Sprintf("duplicate endpoint %q", ep.Path))
		}

		seen[ep.Path] = true
		srv.register(router, ep.Path, ep, ProjectUnscoped)
	}

	for _, ep := range srv.internalEndpoints() {
		srv.register(router, "/internal/"+ep.Path, ep, ProjectUnscoped)
	}

	router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.Debug("unknown API path", "method", r.Method, "url", r.URL.RequestURI())
		_ = response.NotFound(nil).Render(w, r)
	})

	return router
}

func (srv *Server) register(router *mux.Router, path string, ep Endpoint, scope ProjectScope) {
	actions := map[string]Action{
		http.MethodGet:    ep.Get,
		http.MethodPut:    ep.Put,
		http.MethodPost:   ep.Post,
		http.MethodDelete: ep.Delete,
		http.MethodPatch:  ep.Patch,
		http.MethodHead:   ep.Head,
	}

	for method, action := range actions {
		if action.Handler != nil && action.Access == nil && !action.AllowUntrusted {
			panic(fmt.Sprintf("endpoint %s %q has no access policy", method, path))
		}
	}

	router.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := srv.Authenticate(r)
		r = r.WithContext(request.WithRequestor(r.Context(), req))
		slog.Debug("handling API request", "method", r.Method, "url", r.URL.RequestURI(), "protocol", req.Protocol,
			"username", req.Username, "ip", req.Address)

		resp := srv.serve(r, path, actions[r.Method], scope)
		err := resp.Render(w, r)
		if err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
			slog.Debug("failed writing response", "url", r.URL.RequestURI(), "err", err)
		}
	}))
}

func (srv *Server) serve(r *http.Request, path string, action Action, scope ProjectScope) response.Response {
	if action.Handler == nil {
		return response.ErrorResponse(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
	}

	if srv.Ready != nil && !srv.Ready() {
		return response.ErrorResponse(http.StatusServiceUnavailable, "daemon is not ready")
	}

	// Restricted clients first, whatever else lets a caller in (see restricted.go).
	refused := checkRestricted(srv.State, r, path, scope)
	if refused != nil {
		return refused
	}

	if !action.AllowUntrusted {
		deny := action.Access(srv.State, r)
		if deny != nil {
			return deny
		}
	}

	refused = checkProject(srv.State, r, scope)
	if refused != nil {
		return refused
	}

	forward := forwardRequest(srv.State, r, path)
	if forward != nil {
		return forward
	}

	return action.Handler(srv.State, r)
}

// isRecursion reports the recursion level asked for.
func recursion(r *http.Request) int {
	switch strings.TrimSpace(r.FormValue("recursion")) {
	case "1":
		return 1
	case "2":
		return 2
	}

	return 0
}
