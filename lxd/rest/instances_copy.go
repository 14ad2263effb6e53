package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// instancesPostCopy creates an instance as a copy of another one or of a snapshot (source type copy).
func instancesPostCopy(s *state.State, r *http.Request, req api.InstancesPost) response.Response {
	if req.Source.Source == "" {
		return response.BadRequest(fmt.Errorf("the copy source is missing"))
	}

	if req.Source.Mode != "" && req.Source.Mode != "pull" {
		return response.NotImplemented(fmt.Errorf("copy mode %q is not supported", req.Source.Mode))
	}

	args := instance.CopyArgs{
		Source:      req.Source.Source,
		Name:        req.Name,
		Description: req.Description,
		Ephemeral:   req.Ephemeral,
		Config:      req.Config,
		Devices:     req.Devices,
		Profiles:    req.Profiles,

		InstanceOnly: req.Source.InstanceOnly,
	}

	err := s.Instances.ValidateCopy(r.Context(), args)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Creating instance",
		Resources:   instanceResources(args.Name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.Copy(ctx, args)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-created", instance.URL(args.Name),
				map[string]any{"storage-pool": "default", "type": api.InstanceTypeContainer})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
