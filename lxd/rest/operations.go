package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var operationsCmd = Endpoint{
	Path: "operations",
	Get:  Action{Handler: operationsGet, Access: allowTrusted},
}

var operationCmd = Endpoint{
	Path:   "operations/{id}",
	Get:    Action{Handler: operationGet, Access: allowTrusted},
	Delete: Action{Handler: operationDelete, Access: allowTrusted},
}

var operationWaitCmd = Endpoint{
	Path: "operations/{id}/wait",
	Get:  Action{Handler: operationWaitGet, AllowUntrusted: true},
}

var operationWebsocketCmd = Endpoint{
	Path: "operations/{id}/websocket",
	Get:  Action{Handler: operationWebsocketGet, AllowUntrusted: true},
}

// cancelWait bounds how long DELETE waits for a cancelled operation to reach its final status.
const cancelWait = 5 * time.Second

// operationProject returns the project a request is scoped to: "" (all) with all-projects=true.
func operationProject(r *http.Request) string {
	if r.FormValue("all-projects") == "true" {
		return ""
	}

	project := r.FormValue("project")
	if project == "" {
		return "default"
	}

	return project
}

// operationsGet lists operations keyed by their lowercase status name: URLs, or full objects with recursion=1.
func operationsGet(s *state.State, r *http.Request) response.Response {
	ops := s.Ops.List(operationProject(r))
	if recursion(r) == 0 {
		urls := map[string][]string{}
		for _, op := range ops {
			key := strings.ToLower(op.Status().String())
			urls[key] = append(urls[key], op.URL())
		}

		return response.SyncResponse(gatherOperations(s, r, 0, urls))
	}

	full := map[string][]api.Operation{}
	for _, op := range ops {
		rendered := op.Render()
		key := strings.ToLower(rendered.Status)
		full[key] = append(full[key], rendered)
	}

	return response.SyncResponse(gatherOperations(s, r, 1, full))
}

// gatherOperations adds to local, this member's operations by status, those of the other members that answer.
func gatherOperations[T any](s *state.State, r *http.Request, recursion int, local map[string][]T) map[string][]T {
	askOthers(s, r, recursion, func(m cluster.MemberRef, raw json.RawMessage, err error) {
		remote := map[string][]T{}
		if err == nil {
			err = json.Unmarshal(raw, &remote)
		}

		if err != nil {
			slog.Warn("cluster member did not list its operations", "member", m.Name, "err", err)
			return
		}

		for status, ops := range remote {
			local[status] = append(local[status], ops...)
		}
	})

	return local
}

// loadOperation returns the operation named by the {id} path variable.
func loadOperation(s *state.State, r *http.Request) (*operations.Operation, error) {
	id, err := request.PathVar(r, "id")
	if err != nil {
		return nil, err
	}

	return s.Ops.Get(id)
}

func operationGet(s *state.State, r *http.Request) response.Response {
	op, err := loadOperation(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(op.Render())
}

// operationDelete cancels an operation and waits a little for it to settle, so the caller sees it final.
func operationDelete(s *state.State, r *http.Request) response.Response {
	op, err := loadOperation(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = op.Cancel()
	if err != nil {
		return response.SmartError(err)
	}

	_ = op.WaitTimeout(r.Context(), cancelWait)
	return response.EmptySyncResponse
}

// waitTimeout reads ?timeout= of a wait: -1 (the default) waits without limit, 0 returns at once, a positive value
// waits that many seconds. Any other negative value is refused, as LXD gives only -1 a meaning.
func waitTimeout(r *http.Request) (time.Duration, error) {
	timeout, err := request.QueryInt(r, "timeout", -1)
	if err != nil {
		return 0, err
	}

	if timeout < -1 {
		return 0, api.StatusErrorf(http.StatusBadRequest,
			"invalid timeout %d: use -1 to wait without limit, or 0 or more seconds", timeout)
	}

	if timeout == -1 {
		return -1, nil
	}

	// More seconds than a Duration holds is as good as no limit.
	if int64(timeout) > int64(math.MaxInt64/time.Second) {
		return -1, nil
	}

	return time.Duration(timeout) * time.Second, nil
}

// operationWaitGet returns the operation once it is final or after ?timeout= seconds (-1, the default, waits
// without limit). Untrusted callers need the operation's ?secret=.
func operationWaitGet(s *state.State, r *http.Request) response.Response {
	op, err := loadOperation(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !request.GetRequestor(r).Trusted && !op.MatchSecret(r.FormValue("secret")) {
		return response.Forbidden(nil)
	}

	timeout, err := waitTimeout(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = op.WaitTimeout(r.Context(), timeout)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return response.SmartError(err)
	}

	return response.SyncResponse(op.Render())
}

// operationWebsocketGet hands a websocket upgrade to the operation. Untrusted callers need one of its secrets.
func operationWebsocketGet(s *state.State, r *http.Request) response.Response {
	op, err := loadOperation(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if !request.GetRequestor(r).Trusted && !op.MatchSecret(r.FormValue("secret")) {
		return response.Forbidden(nil)
	}

	if op.Class() != api.OperationClassWebsocket {
		return response.BadRequest(fmt.Errorf("operation %s is not a websocket operation", op.ID()))
	}

	if op.Status() != api.Running {
		return response.BadRequest(fmt.Errorf("operation %s is not running", op.ID()))
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		return op.Connect(r, w)
	})
}
