package rest

import (
	"context"
	"maps"
	"net/http"
	"os"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/migration"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// migrationConnect serves the websockets of a migration operation: the secret names the websocket.
func migrationConnect(session *migration.Session) func(op *operations.Operation, r *http.Request, w http.ResponseWriter) error {
	return func(op *operations.Operation, r *http.Request, w http.ResponseWriter) error {
		name := session.Match(r.FormValue("secret"))
		if name == "" {
			return api.StatusErrorf(http.StatusForbidden, "unknown or already used websocket secret")
		}

		conn, err := execUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return err
		}

		session.Attach(name, conn)
		return nil
	}
}

// migrationProgress shows a migration's progress in its operation's metadata, next to the secrets of its websockets
// when it has some.
func migrationProgress(op *operations.Operation, session *migration.Session) migration.Progress {
	return func(md map[string]any) {
		out := map[string]any{}
		if session != nil {
			out = session.Secrets()
		}

		maps.Copy(out, md)
		_ = op.UpdateMetadata(out)
	}
}

// migrationPeer is what this server presents to another one it connects to for a migration: its certificate.
func migrationPeer(s *state.State, operation string, cert string, secrets map[string]string) (migration.PullArgs, error) {
	args := migration.PullArgs{Operation: operation, Certificate: cert, Secrets: secrets}
	err := migration.CheckPull(args)
	if err != nil {
		return args, err
	}

	crt, err := os.ReadFile(s.Dirs.ServerCert())
	if err != nil {
		return args, err
	}

	key, err := os.ReadFile(s.Dirs.ServerKey())
	if err != nil {
		return args, err
	}

	args.ClientCert, args.ClientKey = string(crt), string(key)
	return args, nil
}

// instanceMigrate sends an instance to another server (POST /1.0/instances/<name> with migration and no pool): an
// operation whose websockets the target connects to, or, with a target, that connects to the target's (push mode).
func instanceMigrate(s *state.State, r *http.Request, name string, req api.InstancePost) response.Response {
	err := migration.CheckSource(r.Context(), s.Instances, name, req.Live)
	if err != nil {
		return response.SmartError(err)
	}

	src := &migration.Source{Instances: s.Instances, Name: name, InstanceOnly: req.InstanceOnly || req.ContainerOnly}
	return migrateSource(s, r, src, req.Target, instanceResources(name))
}

// snapshotMigrate sends a snapshot to another server, where it becomes an instance (POST
// /1.0/instances/<name>/snapshots/<snap> with migration).
func snapshotMigrate(s *state.State, r *http.Request, name string, snap string, req api.InstanceSnapshotPost) response.Response {
	err := migration.CheckLive(req.Live)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = s.Instances.Snapshot(r.Context(), name, snap)
	if err != nil {
		return response.SmartError(err)
	}

	src := &migration.Source{Instances: s.Instances, Name: name, Snapshot: snap}
	return migrateSource(s, r, src, req.Target, snapshotResources(name, snap))
}

// migrateSource runs the source of a migration: an operation serving the websockets the target connects to, or,
// with a target, connecting to the target's.
func migrateSource(s *state.State, r *http.Request, src *migration.Source, target *api.InstancePostTarget,
	resources map[string][]string) response.Response {
	requestor := request.GetRequestor(r)
	if target != nil {
		peer, err := migrationPeer(s, target.Operation, target.Certificate, target.Websockets)
		if err != nil {
			return response.SmartError(err)
		}

		op, err := s.Ops.Create(operations.Args{
			Class:       api.OperationClassTask,
			Description: "Migrating instance",
			Resources:   resources,
			Requestor:   requestor,
			Run: func(ctx context.Context, op *operations.Operation) error {
				control, fs, err := migration.Dial(ctx, peer)
				if err != nil {
					return err
				}

				defer migration.CloseAll(control, fs)
				src.Progress = migrationProgress(op, nil)
				return src.Send(ctx, control, fs)
			},
		})
		if err != nil {
			return response.SmartError(err)
		}

		return operations.Response(op)
	}

	session := migration.NewSession()
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassWebsocket,
		Description: "Migrating instance",
		Resources:   resources,
		Metadata:    session.Secrets(),
		Requestor:   requestor,
		OnConnect:   migrationConnect(session),
		OnCancel: func(op *operations.Operation) error {
			session.Close()
			return nil
		},
		Run: func(ctx context.Context, op *operations.Operation) error {
			defer session.Close()
			control, fs, err := session.Wait(ctx)
			if err != nil {
				return err
			}

			src.Progress = migrationProgress(op, session)
			return src.Send(ctx, control, fs)
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// instancesPostMigration creates an instance received from another server (source type migration): in pull mode
// this server connects to the source's websockets, in push mode the source connects to this operation's.
func instancesPostMigration(s *state.State, r *http.Request, req api.InstancesPost) response.Response {
	err := migration.CheckLive(req.Source.Live)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Profiles == nil {
		req.Profiles = []string{"default"}
	}

	profiles, err := instanceProfiles(s, r, req.Profiles)
	if err != nil {
		return response.SmartError(err)
	}

	key := project.InstanceKey(requestProject(r), req.Name)
	inst := api.Instance{Name: key, Type: api.InstanceTypeContainer, InstancePut: req.InstancePut}
	inst.Profiles = profiles

	// A refresh of an instance that does not exist yet is a plain copy, as in LXD.
	target := &migration.Target{Instances: s.Instances, TmpDir: filepath.Join(s.Dirs.Var, "migration"), Instance: inst,
		Refresh: req.Source.Refresh && s.Instances.Exists(r.Context(), key) == nil}
	err = target.Check(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	created := func() {
		if target.Refresh {
			lifecycleBy(s, requestor, "instance-updated", instance.URL(key), nil)
			return
		}

		lifecycleBy(s, requestor, "instance-created", instance.URL(key),
			map[string]any{"type": api.InstanceTypeContainer})
	}

	switch req.Source.Mode {
	case "", "pull":
		peer, err := migrationPeer(s, req.Source.Operation, req.Source.Certificate, req.Source.Websockets)
		if err != nil {
			return response.SmartError(err)
		}

		op, err := s.Ops.Create(operations.Args{
			Class:       api.OperationClassTask,
			Description: "Creating instance",
			Resources:   instanceResources(key),
			Requestor:   requestor,
			Run: func(ctx context.Context, op *operations.Operation) error {
				control, fs, err := migration.Dial(ctx, peer)
				if err != nil {
					return err
				}

				defer migration.CloseAll(control, fs)
				target.Progress = migrationProgress(op, nil)
				err = target.Receive(ctx, control, fs)
				if err != nil {
					return err
				}

				created()
				return nil
			},
		})
		if err != nil {
			return response.SmartError(err)
		}

		return operations.Response(op)
	case "push":
	default:
		return response.BadRequest(api.StatusErrorf(http.StatusBadRequest, "unknown migration mode %q", req.Source.Mode))
	}

	session := migration.NewSession()
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassWebsocket,
		Description: "Creating instance",
		Resources:   instanceResources(key),
		Metadata:    session.Secrets(),
		Requestor:   requestor,
		OnConnect:   migrationConnect(session),
		OnCancel: func(op *operations.Operation) error {
			session.Close()
			return nil
		},
		Run: func(ctx context.Context, op *operations.Operation) error {
			defer session.Close()
			control, fs, err := session.Wait(ctx)
			if err != nil {
				return err
			}

			target.Progress = migrationProgress(op, session)
			err = target.Receive(ctx, control, fs)
			if err != nil {
				return err
			}

			created()
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
