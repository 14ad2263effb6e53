package rest

import (
	"context"
	"maps"
	"net/http"
	"slices"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var projectsCmd = Endpoint{
	Path: "projects",
	Get:  Action{Handler: projectsGet, Access: allowTrusted},
	Post: Action{Handler: projectsPost, Access: allowTrusted},
}

var projectCmd = Endpoint{
	Path:   "projects/{name}",
	Get:    Action{Handler: projectGet, Access: allowTrusted},
	Put:    Action{Handler: projectPut, Access: allowTrusted},
	Patch:  Action{Handler: projectPatch, Access: allowTrusted},
	Post:   Action{Handler: projectPost, Access: allowTrusted},
	Delete: Action{Handler: projectDelete, Access: allowTrusted},
}

var projectStateCmd = Endpoint{
	Path: "projects/{name}/state",
	Get:  Action{Handler: projectStateGet, Access: allowTrusted},
}

// projectLifecycle sends a lifecycle event of a project, in that project, as LXD sends them.
func projectLifecycle(s *state.State, req *request.Requestor, action string, name string, ctx map[string]any) {
	ev := api.EventLifecycle{Action: action, Source: project.URL(name), Context: ctx}
	if req != nil {
		ev.Requestor = req.Lifecycle()
	}

	s.Events.SendLifecycle(name, ev)
}

func projectsGet(s *state.State, r *http.Request) response.Response {
	list, err := s.Projects.List(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	// A restricted client sees its projects only.
	req := request.GetRequestor(r)
	list = slices.DeleteFunc(list, func(p api.Project) bool { return !req.CanAccessProject(p.Name) })
	if recursion(r) == 0 {
		urls := make([]string, 0, len(list))
		for _, p := range list {
			urls = append(urls, project.URL(p.Name))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(list)
}

func projectsPost(s *state.State, r *http.Request) response.Response {
	req := api.ProjectsPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Projects.Create(r.Context(), req)
	if err != nil {
		return response.SmartError(err)
	}

	projectLifecycle(s, request.GetRequestor(r), "project-created", req.Name, nil)
	return response.SyncResponseLocation(nil, project.URL(req.Name))
}

// projectETag is what a project's ETag is computed from, as LXD computes it.
func projectETag(p *api.Project) any {
	return []any{p.Description, p.Config}
}

// loadProject reads the project named in the path.
func loadProject(s *state.State, r *http.Request) (*api.Project, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return nil, err
	}

	return s.Projects.Get(r.Context(), name)
}

func projectGet(s *state.State, r *http.Request) response.Response {
	p, err := loadProject(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(p, projectETag(p))
}

func projectPut(s *state.State, r *http.Request) response.Response {
	return projectUpdate(s, r, false)
}

func projectPatch(s *state.State, r *http.Request) response.Response {
	return projectUpdate(s, r, true)
}

// projectUpdate replaces (PUT) or merges (PATCH: the keys given are set, the others kept; a description given
// replaces the old one) a project's configuration.
func projectUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("project", name)()
	p, err := loadProject(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, projectETag(p))
	if resp != nil {
		return resp
	}

	put := api.ProjectPut{}
	if merge {
		put.Description = p.Description
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	if merge {
		config := maps.Clone(p.Config)
		maps.Copy(config, put.Config)
		put.Config = config
	}

	err = s.Projects.Update(r.Context(), p.Name, put)
	if err != nil {
		return response.SmartError(err)
	}

	projectLifecycle(s, request.GetRequestor(r), "project-updated", p.Name, nil)
	return response.EmptySyncResponse
}

// projectPost renames a project, in an operation as LXD does.
func projectPost(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.ProjectPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if name == project.Default {
		return response.SmartError(errs.Forbidden("the 'default' project cannot be renamed"))
	}

	// The operation belongs to the project the request is made in, where the client follows its events (LXD's
	// belongs to no project and reaches every listener).
	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Project:     requestProject(r),
		Class:       api.OperationClassTask,
		Description: "Renaming project",
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Projects.Rename(ctx, name, req.Name)
			if err != nil {
				return err
			}

			projectLifecycle(s, requestor, "project-renamed", req.Name, map[string]any{"old_name": name})
			return nil
		},
		Requestor: requestor,
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func projectDelete(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Projects.Delete(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	projectLifecycle(s, request.GetRequestor(r), "project-deleted", name, nil)
	return response.EmptySyncResponse
}

func projectStateGet(s *state.State, r *http.Request) response.Response {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	st, err := s.Projects.State(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(st)
}

// projectExists tells the router whether a project named by ?project= exists.
// projectConfig returns the configuration of a project, nil when it does not exist.
func projectConfig(s *state.State, r *http.Request, name string) (map[string]string, error) {
	if s.Projects == nil {
		if name == project.Default {
			return map[string]string{}, nil
		}

		return nil, nil
	}

	return s.Projects.Config(r.Context(), name)
}

func projectExists(s *state.State, r *http.Request, name string) (bool, error) {
	if s.Projects == nil {
		return name == project.Default, nil
	}

	return s.Projects.Exists(r.Context(), name)
}
