package rest

import (
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

// A restricted client is a TLS client whose certificate is limited to some projects (restricted: true and
// projects: [...], as LXD's). On the endpoints that hold objects of a project (every scope but ProjectUnscoped) it may
// do what a trusted client may, in its projects only. On the endpoints that belong to no project it may do only what
// restrictedAccess lists; everything else, the server's configuration, the trust store, warnings, resources,
// metrics and the creation or change of projects and storage pools included, answers 403. It never learns what
// exists outside its projects: an operation or a project of another project is not found.

// restrictedCheck decides a request of a restricted client to an endpoint of no project: nil lets it go on.
type restrictedCheck func(s *state.State, r *http.Request, req *request.Requestor) response.Response

// restrictedAccess lists, by registered path and method, what restricted clients may do on the endpoints that
// belong to no project. A path or method not listed refuses them (fail closed).
var restrictedAccess = map[string]map[string]restrictedCheck{
	"/":                                   {http.MethodGet: restrictedAllow},
	"/1.0":                                {http.MethodGet: restrictedAllow},
	"/1.0/operations":                     {http.MethodGet: restrictedRequestProject},
	"/1.0/operations/{id}":                {http.MethodGet: restrictedOperation, http.MethodDelete: restrictedOperation},
	"/1.0/operations/{id}/wait":           {http.MethodGet: restrictedOperation},
	"/1.0/operations/{id}/websocket":      {http.MethodGet: restrictedOperation},
	"/1.0/projects":                       {http.MethodGet: restrictedAllow},
	"/1.0/projects/{name}":                {http.MethodGet: restrictedNamedProject},
	"/1.0/projects/{name}/state":          {http.MethodGet: restrictedNamedProject},
	"/1.0/storage-pools":                  {http.MethodGet: restrictedAllow},
	"/1.0/storage-pools/{name}":           {http.MethodGet: restrictedAllow},
	"/1.0/storage-pools/{name}/resources": {http.MethodGet: restrictedAllow},
	"/streams/v1/index.json":              {http.MethodGet: restrictedAllow},
	"/streams/v1/images.json":             {http.MethodGet: restrictedAllow},
	"/images/{fingerprint}/{file}":        {http.MethodGet: restrictedAllow},
}

func restrictedAllow(*state.State, *http.Request, *request.Requestor) response.Response {
	return nil
}

// restrictedRequestProject lets in a request whose ?project= (default when absent) is one of the client's; a list of
// every project is refused.
func restrictedRequestProject(_ *state.State, r *http.Request, req *request.Requestor) response.Response {
	if isTrue(r.URL.Query().Get("all-projects")) || !req.CanAccessProject(requestProject(r)) {
		return response.Forbidden(nil)
	}

	return nil
}

// restrictedOperation lets in a request about an operation of one of the client's projects; another project's is
// not found.
func restrictedOperation(s *state.State, r *http.Request, req *request.Requestor) response.Response {
	op, err := loadOperation(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !req.CanAccessProject(op.Project()) {
		return response.NotFound(nil)
	}

	return nil
}

// restrictedNamedProject lets in a request about one of the client's projects; another is not found.
func restrictedNamedProject(_ *state.State, r *http.Request, req *request.Requestor) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	if !req.CanAccessProject(name) {
		return response.ErrorResponse(http.StatusNotFound, errProjectNotFound)
	}

	return nil
}

// checkRestricted applies the rules above to a request of a restricted client: nil lets it go on.
func checkRestricted(s *state.State, r *http.Request, path string, scope ProjectScope) response.Response {
	req := request.GetRequestor(r)
	if !req.Restricted {
		return nil
	}

	if scope != ProjectUnscoped {
		return restrictedRequestProject(s, r, req)
	}

	check := restrictedAccess[path][r.Method]
	if check == nil {
		return response.Forbidden(nil)
	}

	return check(s, r, req)
}

// visibleUsedBy keeps of a used_by list what the requestor may know of: a restricted client sees only the objects
// of its projects (a URL without ?project= names an object of the default project).
func visibleUsedBy(req *request.Requestor, usedBy []string) []string {
	if !req.Restricted {
		return usedBy
	}

	out := []string{}
	for _, u := range usedBy {
		project := DefaultProject
		parsed, err := url.Parse(u)
		if err != nil {
			continue
		}

		if p := parsed.Query().Get("project"); p != "" {
			project = p
		}

		if req.CanAccessProject(project) {
			out = append(out, u)
		}
	}

	return out
}
