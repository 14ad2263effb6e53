package rest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/filter"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instancesCmd = Endpoint{
	Path: "instances",
	Get:  Action{Handler: instancesGet, Access: allowTrusted},
	Post: Action{Handler: instancesPost, Access: allowTrusted},
}

var instanceCmd = Endpoint{
	Path:   "instances/{name}",
	Get:    Action{Handler: instanceGet, Access: allowTrusted},
	Put:    Action{Handler: instancePut, Access: allowTrusted},
	Patch:  Action{Handler: instancePatch, Access: allowTrusted},
	Delete: Action{Handler: instanceDelete, Access: allowTrusted},
	Post:   Action{Handler: instancePost, Access: allowTrusted},
}

var instanceStateCmd = Endpoint{
	Path: "instances/{name}/state",
	Get:  Action{Handler: instanceStateGet, Access: allowTrusted},
	Put:  Action{Handler: instanceStatePut, Access: allowTrusted},
}

// containerAlias serves an instance endpoint under /1.0/containers too, as older clients use it.
func containerAlias(ep Endpoint) Endpoint {
	ep.Path = "containers" + strings.TrimPrefix(ep.Path, "instances")
	return ep
}

var (
	containersCmd     = containerAlias(instancesCmd)
	containerCmd      = containerAlias(instanceCmd)
	containerStateCmd = containerAlias(instanceStateCmd)
)

// instanceResources names an instance in operation resources, under both collection names.
func instanceResources(name string) map[string][]string {
	return map[string][]string{
		"containers": {"/1.0/containers" + strings.TrimPrefix(instance.URL(name), "/1.0/instances")},
		"instances":  {instance.URL(name)},
	}
}

// instanceName returns the key of the instance named by the {name} path variable in the request's project (see
// lxd/project). A name with an underscore, which no instance has, would name another project's instance by its
// key: it is not found.
func instanceName(r *http.Request) (string, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return "", err
	}

	if strings.Contains(name, "_") {
		return "", errs.NotFound("instance %q not found", name)
	}

	return project.InstanceKey(requestProject(r), name), nil
}

// instanceProfiles returns the keys of the profiles an instance of the request's project names, in the project
// whose profiles it uses.
func instanceProfiles(s *state.State, r *http.Request, names []string) ([]string, error) {
	if names == nil {
		return nil, nil
	}

	pp, err := profileProject(s, r)
	if err != nil {
		return nil, err
	}

	out := make([]string, 0, len(names))
	for _, name := range names {
		if strings.Contains(name, "/") {
			return nil, errs.NotFound("profile %q not found", name)
		}

		out = append(out, project.ProfileKey(pp, name))
	}

	return out, nil
}

// inRequestProject keeps the instances of the request's project, or of every project with ?all-projects=true.
func inRequestProject[T any](r *http.Request, items []T, projectOf func(T) string) []T {
	if isTrue(r.URL.Query().Get("all-projects")) {
		return items
	}

	p := requestProject(r)
	out := items[:0]
	for _, item := range items {
		if projectOf(item) == p {
			out = append(out, item)
		}
	}

	return out
}

// statusFilter makes status comparisons in a filter case-insensitive, as "lxc list status=running" expects.
var statusFilter = regexp.MustCompile(`(?i)\bstatus\s+(eq|ne)\s+("[^"]*"|'[^']*'|\S+)`)

// filterInstances keeps the instances matching a ?filter= expression.
func filterInstances[T any](items []T, raw string) ([]T, error) {
	if strings.TrimSpace(raw) == "" {
		return items, nil
	}

	raw = statusFilter.ReplaceAllStringFunc(raw, strings.ToLower)
	expr, err := filter.Parse(raw)
	if err != nil {
		return nil, err
	}

	out := make([]T, 0, len(items))
	for _, item := range items {
		data, err := json.Marshal(item)
		if err != nil {
			return nil, err
		}

		obj := map[string]any{}
		err = json.Unmarshal(data, &obj)
		if err != nil {
			return nil, err
		}

		status, ok := obj["status"].(string)
		if ok {
			obj["status"] = strings.ToLower(status)
		}

		if expr.Match(obj) {
			out = append(out, item)
		}
	}

	return out, nil
}

func instancesGet(s *state.State, r *http.Request) response.Response {
	rec := recursion(r)
	if rec == 2 {
		return instancesGetFull(s, r)
	}

	list, err := s.Instances.List(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	list = inRequestProject(r, list, func(inst api.Instance) string { return inst.Project })
	list = gatherInstances(s, r, 1, list, func(inst api.Instance) api.Instance { return inst })
	sortInstances(list, func(inst api.Instance) (string, string) { return inst.Project, inst.Name })
	list, err = filterInstances(list, r.FormValue("filter"))
	if err != nil {
		return response.SmartError(err)
	}

	if rec == 1 {
		return response.SyncResponse(list)
	}

	prefix := "/1.0/instances/"
	if strings.HasPrefix(r.URL.Path, "/1.0/containers") {
		prefix = "/1.0/containers/"
	}

	urls := make([]string, 0, len(list))
	for _, inst := range list {
		urls = append(urls, project.WithProject(prefix+inst.Name, inst.Project))
	}

	return response.SyncResponse(urls)
}

// instancesGetFull is GET /1.0/instances?recursion=2: every instance with its state, snapshots and backups.
func instancesGetFull(s *state.State, r *http.Request) response.Response {
	list, err := s.Instances.ListFull(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	list = inRequestProject(r, list, func(inst instance.FullInstance) string { return inst.Instance.Project })
	full := make([]api.InstanceFull, 0, len(list))
	for _, inst := range list {
		out := api.InstanceFull{Instance: inst.Instance, State: inst.State}
		if len(inst.Snapshots) > 0 {
			out.Snapshots = inst.Snapshots
		}

		backups, err := s.Backups.ListOf(project.InstanceKey(inst.Instance.Project, inst.Instance.Name))
		if err == nil && len(backups) > 0 {
			out.Backups = backups
		}

		full = append(full, out)
	}

	full = gatherInstances(s, r, 2, full, func(inst api.Instance) api.InstanceFull { return api.InstanceFull{Instance: inst} })
	sortInstances(full, func(inst api.InstanceFull) (string, string) { return inst.Project, inst.Name })
	full, err = filterInstances(full, r.FormValue("filter"))
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(full)
}

// fullInstance adds the state, snapshots and backups to an instance.
func fullInstance(s *state.State, ctx context.Context, inst api.Instance) api.InstanceFull {
	full := api.InstanceFull{Instance: inst, Snapshots: nil, Backups: nil}
	key := project.InstanceKey(inst.Project, inst.Name)
	st, err := s.Instances.State(ctx, key)
	if err == nil {
		full.State = st
	}

	snaps, err := s.Instances.Snapshots(ctx, key)
	if err == nil && len(snaps) > 0 {
		full.Snapshots = snaps
	}

	backups, err := s.Backups.List(ctx, key)
	if err == nil && len(backups) > 0 {
		full.Backups = backups
	}

	return full
}

// nameWords make generated instance names.
var nameWords = [2][]string{
	{"amber", "brave", "calm", "deep", "eager", "fair", "glad", "happy", "keen", "lucid", "merry", "noble", "proud",
		"quick", "sharp", "tidy", "vivid", "wise"},
	{"ant", "bee", "cat", "deer", "eel", "fox", "gnu", "hare", "ibis", "jay", "koi", "lark", "mole", "newt", "owl",
		"puma", "quail", "seal", "toad", "wren"},
}

// generateName returns a random name for an instance created without one.
func generateName() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return nameWords[0][int(b[0])%len(nameWords[0])] + "-" + nameWords[1][int(b[1])%len(nameWords[1])]
}

func instancesPost(s *state.State, r *http.Request) response.Response {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		return instancesPostBackup(s, r)
	}

	req := api.InstancesPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	// A cluster member to place the instance on: requests for another member were forwarded to it, so it is this
	// one.
	if r.URL.Query().Get("target") != "" && !s.Cluster.Clustered() {
		return response.BadRequest(fmt.Errorf("target only allowed when clustered"))
	}

	if req.Type != "" && req.Type != api.InstanceTypeContainer {
		return response.BadRequest(fmt.Errorf("instance type %q is not supported", req.Type))
	}

	if req.InstanceType != "" {
		req.Config, err = instance.ApplyInstanceType(req.Config, req.InstanceType)
		if err != nil {
			return response.SmartError(err)
		}
	}

	if req.Stateful {
		return response.BadRequest(fmt.Errorf("stateful instances are not supported"))
	}

	if req.Name == "" {
		req.Name = generateName()
	}

	if strings.Contains(req.Name, "_") {
		return response.SmartError(instance.ValidName(req.Name))
	}

	if req.Source.Type == "copy" {
		return instancesPostCopy(s, r, req)
	}

	if req.Source.Type == "migration" {
		return instancesPostMigration(s, r, req)
	}

	if req.Profiles == nil {
		req.Profiles = []string{"default"}
	}

	profiles, err := instanceProfiles(s, r, req.Profiles)
	if err != nil {
		return response.SmartError(err)
	}

	args := instance.CreateArgs{
		Name:        project.InstanceKey(requestProject(r), req.Name),
		Description: req.Description,
		Ephemeral:   req.Ephemeral,
		Config:      req.Config,
		Devices:     req.Devices,
		Profiles:    profiles,
	}

	var remote *api.InstanceSource
	var imgs *image.Manager
	switch req.Source.Type {
	case "image":
		imgs, err = imagesOf(s, r)
		if err != nil {
			return response.SmartError(err)
		}

		if req.Source.Server != "" {
			err = checkRemoteSource(req.Source)
			if err != nil {
				return response.SmartError(err)
			}

			remote = &req.Source
			break
		}

		if req.Source.Alias == "" && req.Source.Fingerprint == "" {
			if len(req.Source.Properties) > 0 {
				return response.BadRequest(fmt.Errorf("selecting an image by properties is not supported"))
			}

			return response.BadRequest(fmt.Errorf("the image source needs an alias or a fingerprint"))
		}

		img, err := s.Instances.ResolveImage(r.Context(), imgs.Project(), req.Source.Alias, req.Source.Fingerprint)
		if err != nil {
			return response.SmartError(err)
		}

		args.Image = img
	case "none":
	case "":
		return response.BadRequest(fmt.Errorf("the source type is missing"))
	default:
		return response.NotImplemented(fmt.Errorf("source type %q is not supported", req.Source.Type))
	}

	err = s.Instances.ValidateCreate(r.Context(), &args)
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
			if remote != nil {
				fp, err := remoteImage(ctx, imgs, op, requestor, *remote)
				if err != nil {
					return err
				}

				args.Image, err = s.Instances.ResolveImage(ctx, imgs.Project(), "", fp)
				if err != nil {
					return err
				}
			}

			err := s.Instances.Create(ctx, args, func(md map[string]any) { _ = op.UpdateMetadata(md) })
			if err != nil {
				return err
			}

			if args.Image != nil {
				imgs.MarkUsed(ctx, args.Image.Fingerprint)
			}

			lifecycleBy(s, nil, "instance-created", instance.URL(args.Name),
				map[string]any{"storage-pool": "default", "type": api.InstanceTypeContainer})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instanceETag is what an instance's ETag is computed from: its writable state.
func instanceETag(inst *api.Instance) any {
	return []any{inst.Architecture, inst.Config, inst.Devices, inst.Ephemeral, inst.Profiles, inst.Description}
}

func instanceGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	inst, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) > 0 {
		return response.SyncResponseETag(fullInstance(s, r.Context(), *inst), instanceETag(inst))
	}

	return response.SyncResponseETag(inst, instanceETag(inst))
}

func instancePut(s *state.State, r *http.Request) response.Response {
	return instanceUpdate(s, r, false)
}

func instancePatch(s *state.State, r *http.Request) response.Response {
	return instanceUpdate(s, r, true)
}

// instanceUpdate replaces (PUT) or merges (PATCH: config and devices key by key) the writable fields.
func instanceUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("instance", name)()

	inst, err := s.Instances.Get(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, instanceETag(inst))
	if resp != nil {
		return resp
	}

	put := api.InstancePut{}
	if merge {
		put = inst.Writable()
		put.Config = maps.Clone(inst.Config)
		put.Devices = map[string]map[string]string{}
		for k, v := range inst.Devices {
			put.Devices[k] = maps.Clone(v)
		}
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	if put.Restore != "" {
		return instanceRestore(s, r, name, put.Restore)
	}

	if !merge {
		// Volatile keys are the daemon's: a PUT that leaves them out keeps them.
		if put.Config == nil {
			put.Config = map[string]string{}
		}

		for k, v := range inst.Config {
			_, set := put.Config[k]
			if strings.HasPrefix(k, "volatile.") && !set {
				put.Config[k] = v
			}
		}
	}

	put.Profiles, err = instanceProfiles(s, r, put.Profiles)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Update(r.Context(), name, put)
	if err != nil {
		return response.SmartError(err)
	}

	if merge {
		lifecycle(s, r, "instance-updated", instance.URL(name), nil)
		return response.EmptySyncResponse
	}

	// LXD answers a PUT with an operation, and the stock client waits for one.
	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Updating instance",
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			lifecycleBy(s, requestor, "instance-updated", instance.URL(name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceDelete(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if s.Instances.Status(name) != api.Stopped {
		return response.BadRequest(fmt.Errorf("the instance is running, stop it first"))
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Deleting instance",
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			snaps, _ := s.Instances.Snapshots(ctx, name)
			err := s.Instances.Delete(ctx, name)
			if err != nil {
				return err
			}

			for _, snap := range snaps {
				lifecycleBy(s, requestor, "instance-snapshot-deleted", instance.SnapshotURL(name, snap.Name), nil)
			}

			_ = s.Backups.DeleteInstance(name)
			lifecycleBy(s, nil, "instance-deleted", instance.URL(name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instanceMovePool moves an instance to another storage pool of this server, as LXD's POST with migration and pool
// (instance_pool_move). A new name in the same request renames it on the way, as LXD does.
func instanceMovePool(s *state.State, r *http.Request, name string, req api.InstancePost) response.Response {
	if req.Name != "" && req.Name != project.InstanceName(name) {
		err := instance.ValidName(req.Name)
		if err != nil {
			return response.SmartError(err)
		}
	}

	err := s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Migrating instance",
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.MoveToPool(ctx, name, req.Pool)
			if err != nil {
				return err
			}

			if req.Name != "" && req.Name != project.InstanceName(name) {
				newKey := project.InstanceKey(project.InstanceProject(name), req.Name)
				err = s.Instances.Rename(ctx, name, newKey)
				if err != nil {
					return err
				}

				lifecycleBy(s, requestor, "instance-renamed", instance.URL(newKey), map[string]any{"old_name": project.InstanceName(name)})
			}

			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instancePost renames an instance.
func instancePost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstancePost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Migration && req.Pool != "" {
		return instanceMovePool(s, r, name, req)
	}

	if req.Migration {
		return instanceMigrate(s, r, name, req)
	}

	err = instance.ValidName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if s.Instances.Status(name) != api.Stopped {
		// The stock LXD text, which its client shows as is.
		return response.SmartError(api.StatusErrorf(http.StatusBadRequest, "Renaming of running container not allowed"))
	}

	newKey := project.InstanceKey(project.InstanceProject(name), req.Name)
	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Renaming instance",
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.Rename(ctx, name, newKey)
			if err != nil {
				return err
			}

			_ = s.Backups.RenameInstance(name, newKey)
			lifecycleBy(s, requestor, "instance-renamed", instance.URL(newKey), map[string]any{"old_name": project.InstanceName(name)})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
