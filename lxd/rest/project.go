package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

// DefaultProject is the project that always exists and holds every object.
const DefaultProject = "default"

// ProjectScope tells the router how an endpoint reads the ?project= of a request. Every object belongs to the
// default project: a request naming another one is answered in the router, before any handler runs (as LXD 5.0.2
// answers for a project that does not exist, or as for a project that holds nothing), so that nothing of the
// default project is served or changed under another name.
type ProjectScope int

const (
	// ProjectScoped endpoints hold objects of a project (images, aliases, profiles, instances and everything
	// under them, events): with a project other than default every method answers 404 "project not found".
	// Endpoints that projectScopes does not list have this scope, so a new endpoint fails closed.
	ProjectScoped ProjectScope = iota

	// ProjectListed endpoints are collections LXD lists as empty in a project that does not exist (instances):
	// GET answers an empty list and every other method 404 "project not found". A GET with ?all-projects=true
	// lists every project (here: default) and refuses a ?project= besides it, with 400, as LXD does.
	ProjectListed

	// ProjectUnscoped endpoints belong to no project (the server, certificates, one operation) or read ?project=
	// themselves (the operations list filters by it): the router leaves ?project= to the handler.
	ProjectUnscoped
)

// String names the scope as the endpoint table and the tests do.
func (s ProjectScope) String() string {
	switch s {
	case ProjectScoped:
		return "scoped"
	case ProjectListed:
		return "listed"
	case ProjectUnscoped:
		return "unscoped"
	}

	return fmt.Sprintf("ProjectScope(%d)", int(s))
}

// errProjectNotFound is the answer for a project that does not exist (LXD: "Project not found").
const errProjectNotFound = "project not found"

// isTrue reads a boolean query parameter the way LXD does ("true", "1", "yes" or "on", in any case).
func isTrue(value string) bool {
	switch strings.ToLower(value) {
	case "true", "1", "yes", "on":
		return true
	}

	return false
}

// requestProject returns the project a request names, default when it names none. The query is read from the URL
// only, so that a form body is never consumed here.
func requestProject(r *http.Request) string {
	project := r.URL.Query().Get("project")
	if project == "" {
		return DefaultProject
	}

	return project
}

// checkProject applies an endpoint's project scope to a request: nil lets the request go on to its handler, any
// other response is the answer. Every object belongs to the default project, so another project that exists holds
// nothing: its instance lists are empty, its events are those sent in it, and its other objects are not served
// (501) rather than served from default under its name.
func checkProject(s *state.State, r *http.Request, scope ProjectScope) response.Response {
	if scope == ProjectUnscoped {
		return nil
	}

	query := r.URL.Query()
	list := scope == ProjectListed && r.Method == http.MethodGet
	if list && isTrue(query.Get("all-projects")) {
		if query.Get("project") != "" {
			return response.ErrorResponse(http.StatusBadRequest, "cannot specify a project when requesting all projects")
		}

		return nil
	}

	name := requestProject(r)
	if name == DefaultProject {
		return nil
	}

	if list {
		// Every recursion level of a list is a JSON array.
		return response.SyncResponse([]string{})
	}

	exists, err := projectExists(s, r, name)
	if err != nil {
		return response.SmartError(err)
	}

	if !exists {
		return response.ErrorResponse(http.StatusNotFound, errProjectNotFound)
	}

	if r.URL.Path == "/1.0/events" {
		return nil
	}

	return response.SmartError(errs.Unsupported("project %q holds no objects: instances, images, profiles, networks and storage volumes belong to the default project", name))
}
