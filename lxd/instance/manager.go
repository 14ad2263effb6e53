package instance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
)

// Volatile keys the daemon keeps on each instance.
const (
	KeyBaseImage      = "volatile.base_image"
	KeyUUID           = "volatile.uuid"
	KeyLastStatePower = "volatile.last_state.power"
	KeyIdmapBase      = "volatile.idmap.base"
	KeyIdmapNext      = "volatile.idmap.next"
	KeyLastIdmap      = "volatile.last_state.idmap"
)

// ManagerArgs are the subsystems a Manager works with.
type ManagerArgs struct {
	DB     *db.DB
	Images *images.Store
	Pool   *storage.Pool
	Driver Driver
	Events *events.Server

	// IDMap is the map of unprivileged containers; nil makes every container privileged.
	IDMap *IDMap

	// LogDir holds one log directory per instance.
	LogDir string
}

// Manager creates, runs and deletes instances. Operations on one instance are serialised.
type Manager struct {
	db     *db.DB
	images *images.Store
	pool   *storage.Pool
	driver Driver
	events *events.Server
	idmap  *IDMap
	logDir string

	lockMu sync.Mutex
	locks  map[string]*sync.Mutex

	runMu   sync.Mutex
	running map[string]*run

	// shuttingDown keeps the last power state of instances stopped by the daemon's shutdown.
	shuttingDown bool
}

// run is one run of a container; done is closed once its exit has been handled.
type run struct {
	done chan struct{}
}

// NewManager returns a manager over the given subsystems.
func NewManager(args ManagerArgs) *Manager {
	return &Manager{
		db:      args.DB,
		images:  args.Images,
		pool:    args.Pool,
		driver:  args.Driver,
		events:  args.Events,
		idmap:   args.IDMap,
		logDir:  args.LogDir,
		locks:   map[string]*sync.Mutex{},
		running: map[string]*run{},
	}
}

// Pool returns the storage pool.
func (m *Manager) Pool() *storage.Pool {
	return m.pool
}

// lock takes the lock of one instance and returns its release.
func (m *Manager) lock(name string) func() {
	m.lockMu.Lock()
	l, ok := m.locks[name]
	if !ok {
		l = &sync.Mutex{}
		m.locks[name] = l
	}

	m.lockMu.Unlock()
	l.Lock()
	return l.Unlock
}

// DefaultProfile is the profile created at first start: a root disk on the default pool.
func DefaultProfile() db.Profile {
	return db.Profile{
		Name:        "default",
		Description: "Default profile",
		Config:      map[string]string{},
		Devices: map[string]map[string]string{
			"root": {"type": "disk", "path": "/", "pool": storage.DefaultPool},
		},
	}
}

// Init creates the default profile when missing, follows containers still running from before, and starts the
// ones that should run.
func (m *Manager) Init(ctx context.Context) error {
	var insts []db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProfile(ctx, "default")
		if errors.Is(err, errs.ErrNotFound) {
			_, err = tx.CreateProfile(ctx, DefaultProfile())
		}

		if err != nil {
			return err
		}

		insts, err = tx.GetInstances(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("initialising instances: %w", err)
	}

	for _, inst := range insts {
		if m.driver.Status(inst.Name) != api.Stopped {
			m.follow(inst.Name)
			continue
		}

		expanded, _, err := m.expand(ctx, &inst)
		if err != nil {
			continue
		}

		auto, set := expanded["boot.autostart"]
		if (set && IsTrue(auto)) || (!set && inst.Config[KeyLastStatePower] == "RUNNING") {
			err = m.Start(ctx, inst.Name)
			if err != nil {
				slog.Error("failed starting instance at boot", "instance", inst.Name, "err", err)
			}
		}
	}

	return nil
}

// Shutdown stops every running container, keeping their last power state so they start again with the daemon.
func (m *Manager) Shutdown(ctx context.Context, timeout time.Duration) {
	m.runMu.Lock()
	m.shuttingDown = true
	names := make([]string, 0, len(m.running))
	for name := range m.running {
		names = append(names, name)
	}

	m.runMu.Unlock()
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := m.Stop(ctx, name, timeout, false)
			if err != nil {
				slog.Warn("clean stop failed at shutdown, killing", "instance", name, "err", err)
				err = m.Stop(ctx, name, 0, true)
				if err != nil {
					slog.Error("failed stopping instance at shutdown", "instance", name, "err", err)
				}
			}
		}()
	}

	wg.Wait()
}

// ResolveImage finds a local image by alias or fingerprint prefix.
func (m *Manager) ResolveImage(ctx context.Context, alias string, fingerprint string) (*db.Image, error) {
	var img *db.Image
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		target := fingerprint
		if alias != "" {
			a, err := tx.GetImageAlias(ctx, alias)
			if err != nil {
				return err
			}

			target = a.Target
		}

		if target == "" {
			return fmt.Errorf("no image alias or fingerprint given: %w", errs.ErrInvalid)
		}

		var err error
		img, err = tx.GetImageByPrefix(ctx, target, db.ImageFilter{})
		if err != nil && fingerprint != "" && alias == "" && errors.Is(err, errs.ErrNotFound) {
			// A copy by alias sends the alias in the fingerprint field.
			a, aerr := tx.GetImageAlias(ctx, fingerprint)
			if aerr == nil {
				img, err = tx.GetImageByPrefix(ctx, a.Target, db.ImageFilter{})
			}
		}

		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		name := alias
		if name == "" {
			name = fingerprint
		}

		return nil, api.StatusErrorf(http.StatusNotFound, "image %q not found", name)
	}

	if err != nil {
		return nil, err
	}

	return img, nil
}

// CreateArgs describe a new instance.
type CreateArgs struct {
	Name        string
	Description string
	Ephemeral   bool
	Config      map[string]string
	Devices     map[string]map[string]string
	Profiles    []string

	// Image is the source image; nil creates an empty instance.
	Image *db.Image
}

// ValidateCreate checks a creation request against the database before any work starts.
func (m *Manager) ValidateCreate(ctx context.Context, args *CreateArgs) error {
	err := ValidName(args.Name)
	if err != nil {
		return err
	}

	if args.Config == nil {
		args.Config = map[string]string{}
	}

	if args.Devices == nil {
		args.Devices = map[string]map[string]string{}
	}

	err = ValidateConfig(args.Config, false, false)
	if err != nil {
		return err
	}

	err = ValidateDevices(args.Devices)
	if err != nil {
		return err
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetInstance(ctx, args.Name)
		if err == nil {
			return api.StatusErrorf(http.StatusConflict, "instance %q already exists", args.Name)
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		profiles, err := loadProfiles(ctx, tx, args.Profiles)
		if err != nil {
			return err
		}

		_, devices := Expand(profiles, args.Config, args.Devices)
		return checkRootDisk(devices)
	})
}

// checkRootDisk makes sure the expanded devices have a root disk on a pool this server has.
func checkRootDisk(devices map[string]map[string]string) error {
	_, root, ok := RootDisk(devices)
	if !ok {
		return api.StatusErrorf(http.StatusBadRequest, "no root disk device: add one or use a profile that has one")
	}

	if root["pool"] != storage.DefaultPool {
		return api.StatusErrorf(http.StatusNotFound, "storage pool %q not found", root["pool"])
	}

	return nil
}

func loadProfiles(ctx context.Context, tx *db.Tx, names []string) ([]Profile, error) {
	out := make([]Profile, 0, len(names))
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, api.StatusErrorf(http.StatusBadRequest, "profile %q is listed twice", name)
		}

		seen[name] = true
		p, err := tx.GetProfile(ctx, name)
		if errors.Is(err, errs.ErrNotFound) {
			return nil, api.StatusErrorf(http.StatusNotFound, "profile %q not found", name)
		}

		if err != nil {
			return nil, err
		}

		out = append(out, Profile{Name: p.Name, Config: p.Config, Devices: p.Devices})
	}

	return out, nil
}

// expand returns an instance's expanded configuration and devices.
func (m *Manager) expand(ctx context.Context, inst *db.Instance) (map[string]string, map[string]map[string]string, error) {
	var profiles []Profile
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, inst.Profiles)
		return err
	})
	if err != nil {
		return nil, nil, err
	}

	config, devices := Expand(profiles, inst.Config, inst.Devices)
	return config, devices, nil
}

// privileged reports whether an expanded configuration runs privileged.
func (m *Manager) privileged(config map[string]string) bool {
	return m.idmap == nil || IsTrue(config["security.privileged"])
}

// newUUID returns a random UUID (version 4).
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// undo collects the steps to roll back when a multi-step change fails.
type undo []func()

func (u *undo) add(f func()) {
	*u = append(*u, f)
}

// run rolls back, last step first.
func (u *undo) run() {
	for i := len(*u) - 1; i >= 0; i-- {
		(*u)[i]()
	}
}

// Create creates an instance: its row, its base (unpacked once per image), its overlay root and the create
// templates. On failure nothing is left. progress receives operation metadata updates.
func (m *Manager) Create(ctx context.Context, args CreateArgs, progress func(map[string]any)) error {
	unlock := m.lock(args.Name)
	defer unlock()

	var rollback undo
	ok := false
	defer func() {
		if !ok {
			rollback.run()
		}
	}()

	config := maps.Clone(args.Config)
	arch := osarch.Host()
	if args.Image != nil {
		arch = args.Image.Architecture
		config[KeyBaseImage] = args.Image.Fingerprint
		for k, v := range args.Image.Properties {
			config["image."+k] = v
		}
	}

	config[KeyUUID] = newUUID()
	inst := db.Instance{
		Name:         args.Name,
		Type:         api.InstanceTypeContainer,
		Architecture: arch,
		Ephemeral:    args.Ephemeral,
		Description:  args.Description,
		CreatedAt:    time.Now().UTC(),
		Config:       config,
		Devices:      args.Devices,
		Profiles:     args.Profiles,
	}

	var profiles []Profile
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, args.Profiles)
		if err != nil {
			return err
		}

		expanded, _ := Expand(profiles, config, args.Devices)
		if !m.privileged(expanded) {
			config[KeyIdmapBase] = fmt.Sprint(m.idmap.HostUID)
			config[KeyIdmapNext] = m.idmap.JSON()
			config[KeyLastIdmap] = m.idmap.JSON()
		}

		config[KeyLastStatePower] = "STOPPED"
		_, err = tx.CreateInstance(ctx, inst)
		return err
	})
	if err != nil {
		return err
	}

	rollback.add(func() {
		err := m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteInstance(ctx, args.Name)
		})
		if err != nil {
			slog.Error("failed removing the record of a failed instance", "instance", args.Name, "err", err)
		}
	})

	expanded, devices := Expand(profiles, config, args.Devices)
	base := ""
	if args.Image != nil {
		base, err = m.ensureBase(ctx, args.Image.Fingerprint, !m.privileged(expanded), progress)
		if err != nil {
			return err
		}
	}

	rootUID, rootGID := 0, 0
	if !m.privileged(expanded) {
		rootUID, rootGID = int(m.idmap.HostUID), int(m.idmap.HostGID)
	}

	err = m.pool.CreateContainer(args.Name, base, rootUID, rootGID)
	if err != nil {
		return err
	}

	rollback.add(func() {
		err := m.pool.DeleteContainer(args.Name)
		if err != nil {
			slog.Error("failed removing the storage of a failed instance", "instance", args.Name, "err", err)
		}
	})

	if args.Image != nil {
		err = m.saveTemplates(ctx, args.Name, args.Image.Fingerprint)
		if err != nil {
			return err
		}

		_, err = m.pool.Mount(args.Name)
		if err != nil {
			return err
		}

		err = m.applyTemplates(args.Name, images.TriggerCreate, tplInstance(&inst, expanded, devices), rootUID, rootGID)
		unmountErr := m.pool.Unmount(args.Name)
		if err != nil {
			return err
		}

		if unmountErr != nil {
			return unmountErr
		}
	}

	ok = true
	return nil
}

// ensureBase unpacks an image's base once; shifted bases belong to unprivileged containers.
func (m *Manager) ensureBase(ctx context.Context, fp string, shifted bool, progress func(map[string]any)) (string, error) {
	base := fp
	opts := images.UnpackOptions{Devices: true}
	if shifted {
		base = storage.BaseName(fp, m.idmap.HostUID, m.idmap.HostGID)
		opts = images.UnpackOptions{Shift: m.idmap.Shift}
	}

	start := time.Now()
	unpacked, err := m.pool.EnsureBase(ctx, base, func(ctx context.Context, dest string) error {
		if progress != nil {
			progress(map[string]any{
				"create_instance_from_image_unpack_progress": "Unpack: 0%",
				"progress": map[string]string{"stage": "create_instance_from_image_unpack", "percent": "0"},
			})
		}

		return m.images.Unpack(ctx, fp, dest, opts)
	})
	if err != nil {
		return "", fmt.Errorf("unpacking image %s: %w", fp, err)
	}

	if unpacked {
		slog.Info("unpacked image base", "fingerprint", fp, "base", base, "elapsed", time.Since(start))
	}

	return base, nil
}

// PruneBases removes the bases whose image is gone and that no instance uses.
func (m *Manager) PruneBases(ctx context.Context) error {
	bases, err := m.pool.Bases()
	if err != nil {
		return err
	}

	var live map[string]bool
	used := map[string]bool{}
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, db.ImageFilter{})
		if err != nil {
			return err
		}

		live = map[string]bool{}
		for _, img := range imgs {
			live[img.Fingerprint] = true
		}

		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		for _, inst := range insts {
			base, err := m.pool.ContainerBase(inst.Name)
			if err == nil && base != "" {
				used[base] = true
			}
		}

		return nil
	})
	if err != nil {
		return err
	}

	for _, base := range bases {
		if live[storage.BaseImage(base)] || used[base] {
			continue
		}

		slog.Info("removing unused image base", "base", base)
		err = m.pool.DeleteBase(base)
		if err != nil {
			return err
		}
	}

	return nil
}

// load reads one instance row.
func (m *Manager) load(ctx context.Context, name string) (*db.Instance, error) {
	var inst *db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		inst, err = tx.GetInstance(ctx, name)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, api.StatusErrorf(http.StatusNotFound, "instance %q not found", name)
	}

	return inst, err
}

// Exists reports whether an instance exists, as a 404 StatusError when it does not.
func (m *Manager) Exists(ctx context.Context, name string) error {
	_, err := m.load(ctx, name)
	return err
}

// setVolatile stores volatile keys of an instance.
func (m *Manager) setVolatile(ctx context.Context, name string, changes map[string]string) {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, changes)
	})
	if err != nil {
		slog.Error("failed recording instance state", "instance", name, "err", err)
	}
}

// Start starts a stopped instance.
func (m *Manager) Start(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	return m.startLocked(ctx, name)
}

func (m *Manager) startLocked(ctx context.Context, name string) error {
	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	status := m.driver.Status(name)
	if status != api.Stopped {
		return api.StatusErrorf(http.StatusBadRequest, "the instance is already running")
	}

	m.waitRunDone(name)
	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	err = checkRootDisk(devices)
	if err != nil {
		return err
	}

	rootfs, err := m.pool.Mount(name)
	if err != nil {
		return err
	}

	started := false
	defer func() {
		if !started {
			_ = m.pool.Unmount(name)
		}
	}()

	var idmap *IDMap
	rootUID, rootGID := 0, 0
	if !m.privileged(config) {
		idmap = m.idmap
		rootUID, rootGID = int(idmap.HostUID), int(idmap.HostGID)
	}

	err = m.applyTemplates(name, images.TriggerStart, tplInstance(inst, config, devices), rootUID, rootGID)
	if err != nil {
		return err
	}

	logDir := filepath.Join(m.logDir, name)
	err = os.MkdirAll(logDir, 0o700)
	if err != nil {
		return err
	}

	err = m.driver.Start(ctx, Spec{
		Name:    name,
		Rootfs:  rootfs,
		LogFile: filepath.Join(logDir, "lxc.log"),
		Config:  config,
		Devices: devices,
		IDMap:   idmap,
	})
	if err != nil {
		return fmt.Errorf("starting instance %q: %w", name, err)
	}

	started = true
	m.follow(name)
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.SetInstanceConfig(ctx, name, map[string]string{KeyLastStatePower: "RUNNING"})
		if err != nil {
			return err
		}

		return tx.UpdateInstanceLastUse(ctx, name, time.Now().UTC())
	})
	if err != nil {
		slog.Error("failed recording instance start", "instance", name, "err", err)
	}

	return nil
}

// follow watches a running container and cleans up after it when it exits.
func (m *Manager) follow(name string) {
	exited, err := m.driver.WaitExit(name)
	if err != nil {
		slog.Error("cannot follow instance", "instance", name, "err", err)
		return
	}

	r := &run{done: make(chan struct{})}
	m.runMu.Lock()
	m.running[name] = r
	m.runMu.Unlock()

	go func() {
		<-exited
		m.afterExit(name, r)
	}()
}

// afterExit unmounts an exited container's root and deletes it when ephemeral.
func (m *Manager) afterExit(name string, r *run) {
	// liblxc's monitor may still be tearing the container down.
	for range 100 {
		if m.driver.Status(name) == api.Stopped {
			break
		}

		time.Sleep(50 * time.Millisecond)
	}

	err := m.pool.Unmount(name)
	if err != nil {
		slog.Error("failed unmounting stopped instance", "instance", name, "err", err)
	}

	m.runMu.Lock()
	if m.running[name] == r {
		delete(m.running, name)
	}

	shuttingDown := m.shuttingDown
	m.runMu.Unlock()
	close(r.done)

	if shuttingDown {
		return
	}

	ctx := context.Background()
	inst, err := m.load(ctx, name)
	if err != nil {
		return
	}

	if inst.Config[KeyLastStatePower] == "RUNNING" {
		// Stopped from inside, not through the API.
		m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: "STOPPED"})
		m.events.SendLifecycle("default", api.EventLifecycle{Action: "instance-shutdown", Source: URL(name)})
	}

	if inst.Ephemeral {
		go func() {
			err := m.Delete(ctx, name)
			if err != nil {
				slog.Error("failed deleting ephemeral instance", "instance", name, "err", err)
				return
			}

			m.events.SendLifecycle("default", api.EventLifecycle{Action: "instance-deleted", Source: URL(name)})
		}()
	}
}

// waitRunDone waits until the previous run of a container has been cleaned up.
func (m *Manager) waitRunDone(name string) {
	m.runMu.Lock()
	r := m.running[name]
	m.runMu.Unlock()
	if r == nil {
		return
	}

	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		slog.Warn("instance exit not handled in time", "instance", name)
	}
}

// URL is the API path of an instance.
func URL(name string) string {
	return "/1.0/instances/" + name
}

// ErrNotRunning is returned when an action needs a running instance.
var ErrNotRunning = api.NewStatusError(http.StatusBadRequest, "the instance is not running")

// Stop stops a running instance: cleanly within timeout (for ever when negative), or at once when force is set
// or timeout is zero. A clean stop that times out is an error and leaves the instance running.
func (m *Manager) Stop(ctx context.Context, name string, timeout time.Duration, force bool) error {
	unlock := m.lock(name)
	defer unlock()
	return m.stopLocked(ctx, name, timeout, force)
}

func (m *Manager) stopLocked(ctx context.Context, name string, timeout time.Duration, force bool) error {
	_, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	status := m.driver.Status(name)
	if status == api.Stopped {
		return api.StatusErrorf(http.StatusBadRequest, "the instance is already stopped")
	}

	m.runMu.Lock()
	shuttingDown := m.shuttingDown
	m.runMu.Unlock()
	if !shuttingDown {
		m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: "STOPPED"})
	}

	if status == api.Frozen {
		force = true
	}

	if force || timeout == 0 {
		err = m.driver.Kill(ctx, name)
	} else {
		err = m.driver.Shutdown(ctx, name, timeout)
	}

	if err != nil {
		if !shuttingDown {
			m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: "RUNNING"})
		}

		return err
	}

	m.waitRunDone(name)
	return m.pool.Unmount(name)
}

// Restart stops and starts an instance.
func (m *Manager) Restart(ctx context.Context, name string, timeout time.Duration, force bool) error {
	unlock := m.lock(name)
	defer unlock()
	err := m.stopLocked(ctx, name, timeout, force)
	if err != nil {
		return err
	}

	return m.startLocked(ctx, name)
}

// Freeze pauses a running instance.
func (m *Manager) Freeze(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	if m.driver.Status(name) != api.Running {
		return ErrNotRunning
	}

	return m.driver.Freeze(name)
}

// Unfreeze resumes a frozen instance.
func (m *Manager) Unfreeze(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	if m.driver.Status(name) != api.Frozen {
		return api.StatusErrorf(http.StatusBadRequest, "the instance is not frozen")
	}

	return m.driver.Unfreeze(name)
}

// Status returns the status of an instance.
func (m *Manager) Status(name string) api.StatusCode {
	return m.driver.Status(name)
}

// Delete removes a stopped instance: storage, driver files, logs and row, then bases nothing uses any more.
func (m *Manager) Delete(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()

	_, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		return api.StatusErrorf(http.StatusBadRequest, "the instance is running, stop it first")
	}

	m.waitRunDone(name)
	err = m.pool.DeleteContainer(name)
	if err != nil {
		return err
	}

	err = m.driver.Cleanup(name)
	if err != nil {
		return err
	}

	_ = os.RemoveAll(filepath.Join(m.logDir, name))
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteInstance(ctx, name)
	})
	if err != nil {
		return err
	}

	err = m.PruneBases(ctx)
	if err != nil {
		slog.Warn("failed pruning image bases", "err", err)
	}

	return nil
}

// Rename renames a stopped instance and renders its rename templates.
func (m *Manager) Rename(ctx context.Context, name string, newName string) error {
	err := ValidName(newName)
	if err != nil {
		return err
	}

	unlock := m.lock(name)
	defer unlock()
	unlockNew := m.lock(newName)
	defer unlockNew()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		return api.StatusErrorf(http.StatusBadRequest, "renaming a running instance is not supported")
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameInstance(ctx, name, newName)
	})
	if errors.Is(err, errs.ErrConflict) {
		return api.StatusErrorf(http.StatusConflict, "instance %q already exists", newName)
	}

	if err != nil {
		return err
	}

	err = m.pool.RenameContainer(name, newName)
	if err != nil {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.RenameInstance(ctx, newName, name)
		})
		return err
	}

	_ = m.driver.Cleanup(name)
	_ = os.Rename(filepath.Join(m.logDir, name), filepath.Join(m.logDir, newName))

	inst.Name = newName
	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	rootUID, rootGID := 0, 0
	if !m.privileged(config) {
		rootUID, rootGID = int(m.idmap.HostUID), int(m.idmap.HostGID)
	}

	_, err = m.pool.Mount(newName)
	if err != nil {
		return err
	}

	defer func() { _ = m.pool.Unmount(newName) }()
	return m.applyTemplates(newName, images.TriggerRename, tplInstance(inst, config, devices), rootUID, rootGID)
}

// Update replaces the writable fields of an instance. Volatile keys are the daemon's: they are kept as they are,
// and a request may only repeat their current values. security.privileged cannot change once the root
// filesystem exists, since it is built on a base for one id map.
func (m *Manager) Update(ctx context.Context, name string, put api.InstancePut) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	config := map[string]string{}
	for k, v := range put.Config {
		if strings.HasPrefix(k, "volatile.") {
			if inst.Config[k] != v {
				return api.StatusErrorf(http.StatusBadRequest, "volatile key %q is internal and cannot be changed", k)
			}

			continue
		}

		config[k] = v
	}

	err = ValidateConfig(config, false, false)
	if err != nil {
		return err
	}

	devices := put.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
	}

	err = ValidateDevices(devices)
	if err != nil {
		return err
	}

	for k, v := range inst.Config {
		if strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	profiles := put.Profiles
	if profiles == nil {
		profiles = []string{}
	}

	arch := put.Architecture
	if arch == "" {
		arch = inst.Architecture
	}

	if arch != inst.Architecture {
		return api.StatusErrorf(http.StatusBadRequest, "the architecture cannot be changed")
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		newProfiles, err := loadProfiles(ctx, tx, profiles)
		if err != nil {
			return err
		}

		oldProfiles, err := loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return err
		}

		oldConfig, _ := Expand(oldProfiles, inst.Config, inst.Devices)
		newConfig, newDevices := Expand(newProfiles, config, devices)
		err = checkRootDisk(newDevices)
		if err != nil {
			return err
		}

		if m.privileged(oldConfig) != m.privileged(newConfig) && inst.Config[KeyBaseImage] != "" {
			return api.StatusErrorf(http.StatusBadRequest, "security.privileged cannot be changed after creation")
		}

		return tx.UpdateInstance(ctx, name, db.InstanceUpdate{
			Architecture: arch,
			Ephemeral:    put.Ephemeral,
			Description:  put.Description,
			Config:       config,
			Devices:      devices,
			Profiles:     profiles,
		})
	})
}

// Get returns an instance as the API shows it.
func (m *Manager) Get(ctx context.Context, name string) (*api.Instance, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	out := m.toAPI(inst, config, devices)
	return &out, nil
}

// List returns every instance as the API shows it.
func (m *Manager) List(ctx context.Context) ([]api.Instance, error) {
	var out []api.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		profiles, err := tx.GetProfiles(ctx)
		if err != nil {
			return err
		}

		byName := map[string]Profile{}
		for _, p := range profiles {
			byName[p.Name] = Profile{Name: p.Name, Config: p.Config, Devices: p.Devices}
		}

		out = make([]api.Instance, 0, len(insts))
		for i := range insts {
			var ps []Profile
			for _, name := range insts[i].Profiles {
				ps = append(ps, byName[name])
			}

			config, devices := Expand(ps, insts[i].Config, insts[i].Devices)
			out = append(out, m.toAPI(&insts[i], config, devices))
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Manager) toAPI(inst *db.Instance, config map[string]string, devices map[string]map[string]string) api.Instance {
	status := m.driver.Status(inst.Name)
	profiles := inst.Profiles
	if profiles == nil {
		profiles = []string{}
	}

	return api.Instance{
		InstancePut: api.InstancePut{
			Architecture: inst.Architecture,
			Config:       inst.Config,
			Devices:      inst.Devices,
			Ephemeral:    inst.Ephemeral,
			Profiles:     profiles,
			Stateful:     inst.Stateful,
			Description:  inst.Description,
		},
		CreatedAt:       inst.CreatedAt,
		ExpandedConfig:  config,
		ExpandedDevices: devices,
		Name:            inst.Name,
		Status:          status.String(),
		StatusCode:      status,
		LastUsedAt:      inst.LastUsedAt,
		Location:        "none",
		Type:            api.InstanceTypeContainer,
		Project:         "default",
	}
}

// State returns the runtime state of an instance.
func (m *Manager) State(ctx context.Context, name string) (*api.InstanceState, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	_, devices, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	rs := m.driver.State(name)
	out := &api.InstanceState{
		Status:     rs.Status.String(),
		StatusCode: rs.Status,
		Disk:       map[string]api.InstanceStateDisk{},
		Memory:     rs.Memory,
		Network:    rs.Network,
		Pid:        rs.Pid,
		Processes:  rs.Processes,
		CPU:        rs.CPU,
	}

	rootName, _, ok := RootDisk(devices)
	if ok {
		out.Disk[rootName] = api.InstanceStateDisk{Usage: m.pool.ContainerUsage(name)}
	}

	if out.Network == nil {
		out.Network = map[string]api.InstanceStateNetwork{}
	}

	return out, nil
}
