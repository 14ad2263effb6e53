package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

func instanceStateGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	st, err := s.Instances.State(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(st)
}

// stateAction describes one action of PUT /1.0/instances/{name}/state.
type stateAction struct {
	description string
	lifecycle   string
	run         func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error
}

var stateActions = map[string]stateAction{
	"start": {"Starting instance", "instance-started", func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error {
		return s.Instances.Start(ctx, name)
	}},
	"stop": {"Stopping instance", "instance-shutdown", func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error {
		return s.Instances.Stop(ctx, name, stopTimeout(req.Timeout), req.Force)
	}},
	"restart": {"Restarting instance", "instance-restarted", func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error {
		return s.Instances.Restart(ctx, name, stopTimeout(req.Timeout), req.Force)
	}},
	"freeze": {"Freezing instance", "instance-paused", func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error {
		return s.Instances.Freeze(ctx, name)
	}},
	"unfreeze": {"Unfreezing instance", "instance-resumed", func(ctx context.Context, s *state.State, name string, req api.InstanceStatePut) error {
		return s.Instances.Unfreeze(ctx, name)
	}},
}

// stateChange checks a state change and returns its action and the lifecycle event it sends: a forced stop, or one
// with no time to shut down, is "instance-stopped" rather than "instance-shutdown".
func stateChange(req api.InstanceStatePut) (stateAction, string, error) {
	action, ok := stateActions[req.Action]
	if !ok {
		return stateAction{}, "", fmt.Errorf("unknown action %q", req.Action)
	}

	// Without CRIU no state is saved nor restored: a stateful stop is refused as LXD refuses it without CRIU, a
	// stateful start finds no state, and the other actions ignore stateful, as on LXD.
	switch {
	case req.Stateful && req.Action == "stop":
		return stateAction{}, "", errors.New("unable to perform container live migration: CRIU is not supported by this server")
	case req.Stateful && req.Action == "start":
		return stateAction{}, "", errors.New("the container has no existing state to restore")
	}

	lifecycleAction := action.lifecycle
	if req.Action == "stop" && (req.Force || req.Timeout == 0) {
		lifecycleAction = "instance-stopped"
	}

	return action, lifecycleAction, nil
}

// stopTimeout turns the API's timeout in seconds into a duration; negative waits for ever.
func stopTimeout(seconds int) time.Duration {
	if seconds < 0 {
		return -1
	}

	return time.Duration(seconds) * time.Second
}

func instanceStatePut(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceStatePut{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	action, lifecycleAction, err := stateChange(req)
	if err != nil {
		return response.BadRequest(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	status := s.Instances.Status(name)
	switch {
	case req.Action == "start" && status != api.Stopped:
		return response.BadRequest(fmt.Errorf("the instance is already running"))
	case (req.Action == "stop" || req.Action == "restart" || req.Action == "freeze") && status == api.Stopped:
		return response.BadRequest(fmt.Errorf("the instance is already stopped"))
	case req.Action == "unfreeze" && status != api.Frozen:
		return response.BadRequest(fmt.Errorf("the instance is not frozen"))
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: action.description,
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := action.run(ctx, s, name, req)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, lifecycleAction, instance.URL(name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
