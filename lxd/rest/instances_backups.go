package rest

import (
	"context"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/lxd/backup"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instanceBackupsCmd = Endpoint{
	Path: "instances/{name}/backups",
	Get:  Action{Handler: instanceBackupsGet, Access: allowTrusted},
	Post: Action{Handler: instanceBackupsPost, Access: allowTrusted},
}

var instanceBackupCmd = Endpoint{
	Path:   "instances/{name}/backups/{backup}",
	Get:    Action{Handler: instanceBackupGet, Access: allowTrusted},
	Post:   Action{Handler: instanceBackupPost, Access: allowTrusted},
	Delete: Action{Handler: instanceBackupDelete, Access: allowTrusted},
}

var instanceBackupExportCmd = Endpoint{
	Path: "instances/{name}/backups/{backup}/export",
	Get:  Action{Handler: instanceBackupExport, Access: allowTrusted},
}

var (
	containerBackupsCmd      = containerAlias(instanceBackupsCmd)
	containerBackupCmd       = containerAlias(instanceBackupCmd)
	containerBackupExportCmd = containerAlias(instanceBackupExportCmd)
)

// backupURL is the API path of a backup.
func backupURL(name string, b string) string {
	return "/1.0/instances/" + url.PathEscape(name) + "/backups/" + url.PathEscape(b)
}

// backupVars reads the {name} and {backup} path variables.
func backupVars(r *http.Request) (string, string, error) {
	name, err := instanceName(r)
	if err != nil {
		return "", "", err
	}

	b, err := request.PathVar(r, "backup")
	if err != nil {
		return "", "", err
	}

	return name, b, nil
}

func instanceBackupsGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	list, err := s.Backups.List(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) > 0 {
		return response.SyncResponse(list)
	}

	urls := make([]string, 0, len(list))
	for _, b := range list {
		urls = append(urls, backupURL(name, b.Name))
	}

	return response.SyncResponse(urls)
}

func instanceBackupsPost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = checkRestrictedAction(s, r, "backups")
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceBackupsPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	args := backup.CreateArgs{Instance: name, Name: req.Name, ExpiresAt: req.ExpiresAt,
		InstanceOnly: req.InstanceOnly || req.ContainerOnly, OptimizedStorage: req.OptimizedStorage,
		Compression: req.CompressionAlgorithm}
	err = s.Backups.Prepare(r.Context(), &args)
	if err != nil {
		return response.SmartError(err)
	}

	res := instanceResources(name)
	res["backups"] = []string{"/1.0/backups/" + args.Name}
	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Backing up instance",
		Resources:   res,
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Backups.Create(ctx, args)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-backup-created", backupURL(name, args.Name), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceBackupGet(s *state.State, r *http.Request) response.Response {
	name, b, err := backupVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	out, err := s.Backups.Get(r.Context(), name, b)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(out)
}

// instanceBackupPost renames a backup.
func instanceBackupPost(s *state.State, r *http.Request) response.Response {
	name, b, err := backupVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceBackupPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Backups.Get(r.Context(), name, req.Name)
	if err == nil {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "backup %q of instance %q already exists", req.Name, name))
	}

	err = backup.ValidName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Backups.Get(r.Context(), name, b)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Renaming instance backup",
		Resources:   map[string][]string{"container": {"/1.0/container/" + name}},
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Backups.Rename(ctx, name, b, req.Name)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-backup-renamed", backupURL(name, req.Name), map[string]any{"old_name": b})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceBackupDelete(s *state.State, r *http.Request) response.Response {
	name, b, err := backupVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Backups.Get(r.Context(), name, b)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Removing instance backup",
		Resources:   map[string][]string{"container": {"/1.0/container/" + name}},
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Backups.Delete(ctx, name, b)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-backup-deleted", backupURL(name, b), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func instanceBackupExport(s *state.State, r *http.Request) response.Response {
	name, b, err := backupVars(r)
	if err != nil {
		return response.SmartError(err)
	}

	path, err := s.Backups.Path(r.Context(), name, b)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	return response.FileResponse([]response.FileEntry{{Path: path, Filename: "backup.tar.gz"}}, func() {
		lifecycleBy(s, requestor, "instance-backup-retrieved", backupURL(name, b), nil)
	})
}

// instancesPostBackup creates an instance from a backup tarball, the body of POST /1.0/instances sent as
// application/octet-stream; X-LXD-name and X-LXD-pool rename it and choose its pool.
func instancesPostBackup(s *state.State, r *http.Request) response.Response {
	pp, err := profileProject(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	args := backup.ImportArgs{Name: r.Header.Get("X-LXD-name"), Pool: r.Header.Get("X-LXD-pool"),
		Project: requestProject(r), ProfileProject: pp}
	err = s.Backups.CheckImport(r.Context(), args)
	if err != nil {
		return response.SmartError(err)
	}

	upload, err := s.Backups.Receive(r.Body)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Restoring backup",
		Resources:   importResources(args),
		Project:     args.Project,
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			name, err := s.Backups.ImportFile(ctx, upload, args)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-created", instance.URL(name), nil)
			return nil
		},
	})
	if err != nil {
		s.Backups.Discard(upload)
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// importResources names the instance of an import in its operation, when the request names it.
func importResources(args backup.ImportArgs) map[string][]string {
	name := project.InstanceKey(args.Project, args.Name)
	if args.Name == "" {
		return nil
	}

	return instanceResources(name)
}
