package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

var eventsCmd = Endpoint{
	Path: "events",
	Get:  Action{Handler: eventsGet, Access: allowTrusted},
}

// eventsGet upgrades to the events websocket; ?type= filters by event type and ?project= by project.
func eventsGet(s *state.State, r *http.Request) response.Response {
	return response.ManualResponse(func(w http.ResponseWriter) error {
		return s.Events.ServeWebsocket(w, r)
	})
}
