package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// lifecycle sends a lifecycle event for an action on the resource at source, naming the caller of r.
func lifecycle(s *state.State, r *http.Request, action string, source string, ctx map[string]any) {
	lifecycleBy(s, request.GetRequestor(r), action, source, ctx)
}

// lifecycleBy sends a lifecycle event naming req as the caller; req may be nil for the daemon's own actions. The
// event belongs to the project its source names.
func lifecycleBy(s *state.State, req *request.Requestor, action string, source string, ctx map[string]any) {
	ev := api.EventLifecycle{Action: action, Source: source, Context: ctx}
	if req != nil {
		ev.Requestor = req.Lifecycle()
	}

	s.Events.SendLifecycle(project.OfPath(source), ev)
}
