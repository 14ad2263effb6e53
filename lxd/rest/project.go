package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/storage"
)

// DefaultProject is the project that always exists and holds every object.
const DefaultProject = "default"

// ProjectScope tells the router how an endpoint reads the ?project= of a request. Instances always belong to a
// project, and profiles and images to the request's project when it has features.profiles or features.images (to
// default's otherwise); the handlers make the keys of profile names (see lxd/project) and see images through the
// image manager of the project (imagesOf), and custom storage volumes through the pools as the project sees them
// (volumesOf), and networks to the request's project with features.networks (networksProject), which holds none
// here, to default's otherwise.
type ProjectScope int

const (
	// ProjectScoped endpoints hold objects of a project (instances and everything under them, profiles, images,
	// aliases, volumes, networks, events): a project that does not exist answers 404 "project not found".
	// Endpoints that projectScopes does not list have this scope, so a new endpoint fails closed.
	ProjectScoped ProjectScope = iota

	// ProjectListed endpoints are collections LXD lists as empty in a project that does not exist (instances):
	// GET answers an empty list and every other method 404 "project not found". A GET with ?all-projects=true
	// lists every project and refuses a ?project= besides it, with 400, as LXD does.
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
// other response is the answer.
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

	config, err := projectConfig(s, r, name)
	if err != nil {
		return response.SmartError(err)
	}

	if config == nil {
		if list {
			// Every recursion level of a list is a JSON array.
			return response.SyncResponse([]string{})
		}

		return response.ErrorResponse(http.StatusNotFound, errProjectNotFound)
	}

	return nil
}

// imagesOf returns the image manager of the images a request reaches: the request's project's own when it has
// features.images, default's otherwise, as LXD resolves them.
func imagesOf(s *state.State, r *http.Request) (*image.Manager, error) {
	return imagesIn(s, r, requestProject(r))
}

// imagesIn is imagesOf for project name.
func imagesIn(s *state.State, r *http.Request, name string) (*image.Manager, error) {
	p, err := featureProject(s, r, name, "images")
	if err != nil {
		return nil, err
	}

	if p == DefaultProject {
		return s.Image, nil
	}

	return s.Image.In(p), nil
}

// volumesOf returns the storage pools as a request's project sees them: the volumes of its instances, and its own
// custom volumes when it has features.storage.volumes, default's otherwise, as LXD resolves them.
func volumesOf(s *state.State, r *http.Request) (*storage.Pools, error) {
	return volumesIn(s, r, requestProject(r))
}

// volumesIn is volumesOf for project name.
func volumesIn(s *state.State, r *http.Request, name string) (*storage.Pools, error) {
	custom, err := featureProject(s, r, name, "storage.volumes")
	if err != nil {
		return nil, err
	}

	if name == DefaultProject {
		return s.Storage, nil
	}

	return s.Storage.In(name, custom), nil
}

// featureProject is the project whose objects of the kind a feature gives ("images", "storage.volumes",
// "networks") project name reaches: its own with features.<feature>, else default's. A project that does not
// exist is not found.
func featureProject(s *state.State, r *http.Request, name string, feature string) (string, error) {
	if name == DefaultProject {
		return DefaultProject, nil
	}

	config, err := projectConfig(s, r, name)
	if err != nil {
		return "", err
	}

	if config == nil {
		return "", errs.NotFound("project %q not found", name)
	}

	return project.FeatureProject(name, config, feature), nil
}

// checkRestrictedAction refuses an action a restricted project blocks (restricted.snapshots,
// restricted.backups) in the request's project.
func checkRestrictedAction(s *state.State, r *http.Request, what string) error {
	config, err := projectConfig(s, r, requestProject(r))
	if err != nil || config == nil {
		return err
	}

	if project.Restricted(config, what) {
		return errs.Forbidden("project %q does not allow %s (restricted.%s)", requestProject(r), what, what)
	}

	return nil
}
