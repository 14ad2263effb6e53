package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// instancesBulkCmd is the instances collection with PUT, the bulk state change (API extension
// instance_bulk_state_change).
var instancesBulkCmd = func() Endpoint {
	ep := instancesCmd
	ep.Put = Action{Handler: instancesPut, Access: allowTrusted}
	return ep
}()

// instancesPutRequest is the body of PUT /1.0/instances: {"state": {"action": ..., "timeout": ..., "force": ...}}.
type instancesPutRequest struct {
	State *api.InstanceStatePut `json:"state"`
}

// bulkSkips tells, for each action, which instances a bulk change leaves alone: those already where the action
// would take them, or where it cannot apply.
var bulkSkips = map[string]func(status api.StatusCode) bool{
	"start":    func(status api.StatusCode) bool { return status != api.Stopped },
	"stop":     func(status api.StatusCode) bool { return status == api.Stopped },
	"restart":  func(status api.StatusCode) bool { return status == api.Stopped },
	"freeze":   func(status api.StatusCode) bool { return status != api.Running },
	"unfreeze": func(status api.StatusCode) bool { return status != api.Frozen },
}

// instancesPut changes the state of every instance at once, as PUT /1.0/instances/<name>/state does for one. Instances
// already in the state asked for are left alone; the others change in parallel within one operation, which fails
// naming each instance that failed.
func instancesPut(s *state.State, r *http.Request) response.Response {
	req := instancesPutRequest{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.State == nil {
		return response.BadRequest(errors.New("no state given"))
	}

	put := *req.State
	action, lifecycleAction, err := stateChange(put)
	if err != nil {
		return response.BadRequest(err)
	}

	all, err := s.Instances.List(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	// The instances of the request's project (the instance collection's scope), by key.
	var names []string
	resources := map[string][]string{}
	for _, inst := range inRequestProject(r, all, func(inst api.Instance) string { return inst.Project }) {
		key := project.InstanceKey(inst.Project, inst.Name)
		if bulkSkips[put.Action](s.Instances.Status(key)) {
			continue
		}

		names = append(names, key)
		for k, v := range instanceResources(key) {
			resources[k] = append(resources[k], v...)
		}
	}

	sort.Strings(names)

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Updating instance",
		Resources:   resources,
		Project:     requestProject(r),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			var mu sync.Mutex
			var failed []string
			var wg sync.WaitGroup
			for _, name := range names {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := action.run(ctx, s, name, put)
					if err != nil {
						mu.Lock()
						failed = append(failed, fmt.Sprintf("%s: %v", name, err))
						mu.Unlock()
						return
					}

					lifecycleBy(s, requestor, lifecycleAction, instance.URL(name), nil)
				}()
			}

			wg.Wait()
			if len(failed) > 0 {
				sort.Strings(failed)
				return fmt.Errorf("failed to %s instances: %s", put.Action, strings.Join(failed, "; "))
			}

			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
