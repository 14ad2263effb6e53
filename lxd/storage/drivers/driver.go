// Package drivers holds the storage drivers: what differs between the pool kinds. A driver creates, mounts and
// removes a pool, and provides the few volume primitives (a fresh volume, a snapshot of one, read-only, quota)
// on which lxd/storage lays out image bases, containers and snapshots the same crash-safe way for every driver.
package drivers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Pool is what a driver knows of a pool: its name, its configuration and the daemon's directories.
type Pool struct {
	// Name of the pool.
	Name string

	// Config is the pool's configuration; Create fills in the keys it defaults (source, size).
	Config map[string]string

	// MountPath is where the pool's file system is reachable ($LXD_DIR/storage-pools/<name>).
	MountPath string

	// DisksDir holds the loop files of loop-backed pools ($LXD_DIR/disks).
	DisksDir string

	// Warn, when set, records a condition of the pool an operator should see (a daemon warning about the pool).
	// It may be called while the caller holds a database transaction, so it must not wait for one.
	Warn func(message string)
}

// Driver is one kind of storage pool.
type Driver interface {
	// Name is the driver's name, as the API shows it (dir, btrfs).
	Name() string

	// Version is the version of the driver's tools.
	Version() string

	// Validate checks a pool configuration; creating tells a new pool's from an update's.
	Validate(config map[string]string, creating bool) error

	// Create makes the pool's storage, filling the defaulted keys into p.Config. On error it leaves nothing.
	Create(p *Pool) error

	// Mount makes the pool usable and returns the directory that holds its volumes.
	Mount(p *Pool) (string, error)

	// Unmount releases what Mount took.
	Unmount(p *Pool) error

	// Update applies a configuration change to a mounted pool (old is the configuration before it).
	Update(p *Pool, old map[string]string) error

	// Delete removes the pool's storage (the volumes are gone already); what is missing is not an error.
	Delete(p *Pool) error

	// Layered reports whether containers are overlays on their image base (dir) rather than snapshots of it.
	Layered() bool

	// CreateVolume makes an empty volume at path (a directory, or a subvolume).
	CreateVolume(path string) error

	// Snapshot makes dst a copy of the volume src, read-only if asked. It reports false, having done nothing,
	// when the driver has no cheaper way than copying the files.
	Snapshot(src string, dst string, readOnly bool) (bool, error)

	// SetReadOnly makes a volume read-only.
	SetReadOnly(path string) error

	// SetQuota limits the space of a volume to size bytes (0 lifts the limit).
	SetQuota(path string, size int64) error

	// VolumeUsage returns the bytes a volume uses.
	VolumeUsage(path string) (int64, error)
}

// Names lists the drivers this server has.
func Names() []string {
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}

	sort.Strings(out)
	return out
}

var registry = map[string]func() Driver{
	"dir":   func() Driver { return &dir{} },
	"btrfs": func() Driver { return &btrfs{} },
}

// Load returns the driver called name.
func Load(name string) (Driver, error) {
	fn, ok := registry[name]
	if !ok {
		return nil, errs.Invalid("storage driver %q is not supported (%v)", name, Names())
	}

	return fn(), nil
}

// checkKeys refuses the keys of config that are neither common nor in the driver's own list.
func checkKeys(config map[string]string, own ...string) error {
	known := map[string]bool{"source": true}
	for _, k := range own {
		known[k] = true
	}

	for k := range config {
		if !known[k] && !isVolumeKey(k) && !isUserKey(k) {
			return errs.Invalid("invalid pool configuration key %q", k)
		}
	}

	return nil
}

// isUserKey reports whether k is a free-form user key (user.*), which every pool accepts, as in LXD.
func isUserKey(k string) bool {
	return strings.HasPrefix(k, "user.") && len(k) > len("user.")
}

// isVolumeKey reports whether k is a volume default (volume.*), which every pool accepts.
func isVolumeKey(k string) bool {
	return len(k) > len("volume.") && k[:len("volume.")] == "volume."
}

func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
