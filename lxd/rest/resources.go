package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/resources"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

var resourcesCmd = Endpoint{
	Path: "resources",
	Get:  Action{Handler: resourcesGet, Access: allowTrusted},
}

// resourcesGet describes the host's hardware (GET /1.0/resources).
func resourcesGet(s *state.State, r *http.Request) response.Response {
	res, err := resources.Host().Get()
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(res)
}
