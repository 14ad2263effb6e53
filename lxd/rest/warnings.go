package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/filter"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/api"
)

var warningsCmd = Endpoint{
	Path: "warnings",
	Get:  Action{Handler: warningsGet, Access: allowTrusted},
}

var warningCmd = Endpoint{
	Path:   "warnings/{uuid}",
	Get:    Action{Handler: warningGet, Access: allowTrusted},
	Put:    Action{Handler: warningPut, Access: allowTrusted},
	Patch:  Action{Handler: warningPut, Access: allowTrusted},
	Delete: Action{Handler: warningDelete, Access: allowTrusted},
}

// warningURL is the API path of a warning.
func warningURL(uuid string) string {
	return "/1.0/warnings/" + uuid
}

// warningsGet lists the warnings, of one project with ?project= (all of them without it or with
// all-projects=true), filtered by ?filter=: URLs, or full objects with recursion=1.
func warningsGet(s *state.State, r *http.Request) response.Response {
	expr, err := filter.Parse(r.FormValue("filter"))
	if err != nil {
		return response.SmartError(err)
	}

	var f warnings.Filter
	project := r.FormValue("project")
	if project != "" && r.FormValue("all-projects") != "true" {
		f.Project = &project
	}

	out, err := s.Warnings.List(r.Context(), f)
	if err != nil {
		return response.SmartError(err)
	}

	out, err = filter.Objects(out, expr)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(out))
		for _, w := range out {
			urls = append(urls, warningURL(w.UUID))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(out)
}

// warningETag is what a warning's ETag is computed from: its writable part.
func warningETag(w *api.Warning) any {
	return api.WarningPut{Status: w.Status}
}

func warningGet(s *state.State, r *http.Request) response.Response {
	uuid, err := request.PathVar(r, "uuid")
	if err != nil {
		return response.SmartError(err)
	}

	w, err := s.Warnings.Get(r.Context(), uuid)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(w, warningETag(w))
}

// warningPut sets a warning's status to acknowledged or new (PUT and PATCH alike: status is the only writable
// field) and sends warning-acknowledged or warning-reset.
func warningPut(s *state.State, r *http.Request) response.Response {
	uuid, err := request.PathVar(r, "uuid")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.WarningPut{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	unlock := lockUpdate("warning", uuid)
	defer unlock()
	w, err := s.Warnings.Get(r.Context(), uuid)
	if err != nil {
		return response.SmartError(err)
	}

	deny := checkETag(r, warningETag(w))
	if deny != nil {
		return deny
	}

	err = s.Warnings.SetStatus(r.Context(), uuid, req.Status)
	if err != nil {
		return response.SmartError(err)
	}

	action := "warning-reset"
	if req.Status == api.WarningStatusAcknowledged {
		action = "warning-acknowledged"
	}

	lifecycle(s, r, action, warningURL(uuid), nil)
	return response.SyncResponse(nil)
}

func warningDelete(s *state.State, r *http.Request) response.Response {
	uuid, err := request.PathVar(r, "uuid")
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Warnings.Delete(r.Context(), uuid)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "warning-deleted", warningURL(uuid), nil)
	return response.SyncResponse(nil)
}
