package daemon

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/shared/api"
)

// openImages opens the image store and the image manager, and brings the store back in line with the database
// after a crash. Deleting an image prunes the instance bases it leaves unused, through the instance manager.
func (d *Daemon) openImages(ctx context.Context) (*images.Store, *image.Manager, error) {
	store, err := images.NewStore(d.dirs.ImagesDir())
	if err != nil {
		return nil, nil, fmt.Errorf("open image store: %w", err)
	}

	// An upload writes the base new containers would use on their pool while it is validated.
	store.SetBaseStager(func(ctx context.Context) (images.BaseStage, error) {
		if d.state == nil || d.state.Instances == nil {
			return nil, nil
		}

		return d.state.Instances.StageImportBase(ctx)
	})

	m := image.NewManager(image.ManagerArgs{
		DB:              d.db,
		Store:           store,
		Events:          d.events,
		Config:          d.currentConfig,
		StreamsCacheDir: filepath.Join(d.dirs.Var, "cache", "simplestreams"),
		PruneBases: func(ctx context.Context) error {
			if d.state == nil || d.state.Instances == nil {
				return nil
			}

			return d.state.Instances.PruneBases(ctx)
		},
		RunTask: d.runImageTask,
		OnStored: func(fp string) {
			// The other members copy the new image in the background (cluster.images_minimal_replica).
			go d.cluster.ReplicateImage(d.state.ShutdownCtx, fp)
		},
	})

	err = m.Init(ctx)
	if err != nil {
		return nil, nil, err
	}

	return store, m, nil
}

// runImageTask runs an image task (the auto-update) as an operation clients see, and waits for it.
func (d *Daemon) runImageTask(ctx context.Context, description string, fn func(ctx context.Context, progress image.Progress) error) error {
	op, err := d.ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: description,
		Run: func(ctx context.Context, op *operations.Operation) error {
			return fn(ctx, func(metadata map[string]any) { _ = op.UpdateMetadata(metadata) })
		},
	})
	if err != nil {
		return err
	}

	err = op.Start()
	if err != nil {
		return err
	}

	return op.Wait(ctx)
}
