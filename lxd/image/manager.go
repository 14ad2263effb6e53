package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// Progress receives an operation's new metadata: download progress while it runs, then the result
// ({"fingerprint": ..., "size": ...}). It replaces what the previous call gave.
type Progress func(metadata map[string]any)

// TaskRunner runs fn as a background operation described by description (its progress shows in the operation's
// metadata) and waits for it to end.
type TaskRunner func(ctx context.Context, description string, fn func(ctx context.Context, progress Progress) error) error

// EventSender is what the manager needs of the event server: sending the lifecycle events of the images it
// changes.
type EventSender interface {
	SendLifecycle(project string, ev api.EventLifecycle)
}

// ManagerArgs are the subsystems a Manager works with.
type ManagerArgs struct {
	DB     *db.DB
	Store  *images.Store
	Events EventSender

	// Config returns the server configuration in force (images.* keys).
	Config func() *config.Config

	// StreamsCacheDir keeps the documents of the simplestreams servers images were pulled from, so that an image
	// already here is found by alias while its server is unreachable.
	StreamsCacheDir string

	// PruneBases removes the instance bases no image and no instance needs any more; it is called after every
	// image deletion. Nil does nothing.
	PruneBases func(ctx context.Context) error

	// RunTask runs the auto-update task as an operation. Nil runs it without one.
	RunTask TaskRunner

	// OnStored, when set, is called with the fingerprint of each new image once its files are stored here: a
	// cluster copies them to other members. It must not block.
	OnStored func(fp string)
}

// Manager owns the images of the daemon: their rows, files, aliases and sources. A Manager works on the images of
// one project (In); their files, named by fingerprint, are shared by the projects that record them.
type Manager struct {
	*core

	// project is the project whose images the manager reads and writes ("" is default).
	project string
}

// core is what the views of every project share.
type core struct {
	// filesMu orders the decisions about an image's files: a record that takes files already there and a
	// deletion that removes files no record holds any more never interleave.
	filesMu sync.Mutex

	db              *db.DB
	store           *images.Store
	events          EventSender
	config          func() *config.Config
	streamsCacheDir string
	pruneBases      func(ctx context.Context) error
	runTask         TaskRunner
	oci             ociBlobs
	onStored        func(fp string)
}

// NewManager returns a manager over the given subsystems.
func NewManager(args ManagerArgs) *Manager {
	return &Manager{core: &core{
		db:              args.DB,
		store:           args.Store,
		events:          args.Events,
		config:          args.Config,
		streamsCacheDir: args.StreamsCacheDir,
		pruneBases:      args.PruneBases,
		runTask:         args.RunTask,
		onStored:        args.OnStored,
	}}
}

// In returns the manager of the images of project name: a project with features.images holds its own, the others
// use default's (the caller decides which, see project.ImagesProject).
func (m *Manager) In(name string) *Manager {
	if name == "default" {
		name = ""
	}

	return &Manager{core: m.core, project: name}
}

// Project is the project whose images the manager works on.
func (m *Manager) Project() string {
	if m.project == "" {
		return "default"
	}

	return m.project
}

// transaction runs fn in a transaction that sees the images of the manager's project.
func (m *Manager) transaction(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) error) error {
	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return fn(ctx, tx.InProject(m.Project()))
	})
}

// URL is the API path of an image.
func URL(fp string) string {
	return "/1.0/images/" + fp
}

// Init brings the store back in line with the database after a crash: unfinished uploads are removed, and so are
// image files that no row records (an import that stopped between moving its files into place and writing its
// row, or a deletion that stopped after removing the row). Images recorded without their files are logged.
func (m *Manager) Init(ctx context.Context) error {
	err := m.store.CleanTemp()
	if err != nil {
		return fmt.Errorf("clean image store: %w", err)
	}

	known := map[string]bool{}
	err = m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, db.ImageFilter{AllProjects: true})
		if err != nil {
			return err
		}

		for _, img := range imgs {
			known[img.Fingerprint] = true
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}

	entries, err := os.ReadDir(m.store.Dir())
	if err != nil {
		return err
	}

	orphans := map[string]bool{}
	for _, e := range entries {
		fp := strings.TrimSuffix(e.Name(), ".rootfs")
		if images.ValidFingerprint(fp) && !known[fp] {
			orphans[fp] = true
		}
	}

	for fp := range orphans {
		slog.Warn("removing image files no image record points to", "fingerprint", fp)
		err = m.store.Delete(fp)
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return fmt.Errorf("remove orphan image %s: %w", fp, err)
		}
	}

	err = m.reconcileOCI(known)
	if err != nil {
		slog.Warn("failed reconciling the blobs of OCI images", "err", err)
	}

	// A cluster member holds the files of the images it imported or used only.
	for fp := range known {
		_, _, err := m.store.Paths(fp)
		if err != nil && !m.db.Clustered() {
			slog.Error("image recorded without its files", "fingerprint", fp, "err", err)
		}
	}

	return nil
}

// lifecycle sends a lifecycle event about the image fp; requestor is nil for the daemon's own actions.
func (m *Manager) lifecycle(requestor *api.EventLifecycleRequestor, action string, fp string, ctx map[string]any) {
	if m.events == nil {
		return
	}

	source := URL(fp)
	if m.project != "" {
		source += "?project=" + m.project
	}

	m.events.SendLifecycle(m.Project(), api.EventLifecycle{Action: action, Source: source, Context: ctx, Requestor: requestor})
}

// sizeString is how LXD puts sizes in operation metadata: as a string.
func sizeString(n int64) string {
	return fmt.Sprintf("%d", n)
}

// Result is the final metadata of an operation that stored or found the image img.
func Result(img *db.Image) map[string]any {
	return map[string]any{"fingerprint": img.Fingerprint, "size": sizeString(img.Size)}
}

// report calls progress when there is one.
func report(progress Progress, metadata map[string]any) {
	if progress != nil {
		progress(metadata)
	}
}

// downloadReporter returns a function reporting download progress as LXD shows it
// ("download_progress": "42% (12.34MB/s)"), at most a few times a second; total is 0 or less when unknown.
func downloadReporter(progress Progress) func(done int64, total int64) {
	var mu sync.Mutex
	start := time.Now()
	var last time.Time
	return func(done int64, total int64) {
		if progress == nil {
			return
		}

		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if now.Sub(last) < 250*time.Millisecond {
			return
		}

		last = now
		speed := float64(done) / now.Sub(start).Seconds() / 1e6
		text := fmt.Sprintf("%.2fMB (%.2fMB/s)", float64(done)/1e6, speed)
		if total > 0 {
			text = fmt.Sprintf("%d%% (%.2fMB/s)", done*100/total, speed)
		}

		progress(map[string]any{"download_progress": text})
	}
}
