// Package state holds the narrow view of the daemon that API handlers and subsystems receive.
package state

import (
	"context"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/backup"
	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/network"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// Dirs are the daemon's paths, all derived from the data directory.
type Dirs struct {
	// Var is the data directory (LXD_DIR).
	Var string
}

// NewDirs returns the paths under the data directory dir.
func NewDirs(dir string) Dirs {
	return Dirs{Var: dir}
}

// UnixSocket is the path of the local API socket.
func (d Dirs) UnixSocket() string {
	return filepath.Join(d.Var, "unix.socket")
}

// ServerCert is the server certificate path.
func (d Dirs) ServerCert() string {
	return filepath.Join(d.Var, "server.crt")
}

// ServerKey is the server key path.
func (d Dirs) ServerKey() string {
	return filepath.Join(d.Var, "server.key")
}

// ImagesDir is the image store directory.
func (d Dirs) ImagesDir() string {
	return filepath.Join(d.Var, "images")
}

// StoragePools is the directory holding the storage pools.
func (d Dirs) StoragePools() string {
	return filepath.Join(d.Var, "storage-pools")
}

// Containers is liblxc's directory of containers.
func (d Dirs) Containers() string {
	return filepath.Join(d.Var, "containers")
}

// Logs is the directory of instance logs.
func (d Dirs) Logs() string {
	return filepath.Join(d.Var, "logs")
}

// Networks is the directory of the managed networks' files.
func (d Dirs) Networks() string {
	return filepath.Join(d.Var, "networks")
}

// Database is the database directory.
func (d Dirs) Database() string {
	return filepath.Join(d.Var, "database")
}

// Server describes the running daemon to handlers.
type Server struct {
	// PID is the daemon's process id.
	PID int

	// Cert returns the certificate the server presents: its own, or the cluster certificate of a member.
	Cert func() *tlsutil.CertInfo
}

// Certificate returns the PEM certificate the server presents, "" when unknown.
func (s Server) Certificate() string {
	if s.Cert == nil {
		return ""
	}

	return string(s.Cert().PEM)
}

// Fingerprint returns the SHA-256 fingerprint of the certificate the server presents, "" when unknown.
func (s Server) Fingerprint() string {
	if s.Cert == nil {
		return ""
	}

	return s.Cert().Fingerprint()
}

// State is handed to every handler and subsystem.
type State struct {
	// ShutdownCtx is cancelled when the daemon begins to stop.
	ShutdownCtx context.Context

	Dirs   Dirs
	Server Server

	// Cluster enables clustering and keeps the members' records.
	Cluster *cluster.Manager

	// DB is the daemon's database.
	DB *db.DB

	// Config returns the server configuration in force.
	Config func() *config.Config

	// UpdateConfig validates, applies and stores a change of the server configuration; with replace, keys absent
	// from changes are unset. On error nothing is stored or applied.
	UpdateConfig func(ctx context.Context, changes map[string]any, replace bool) error

	// HTTPSAddresses lists the addresses the HTTPS listener is reachable on.
	HTTPSAddresses func() []string

	// ReloadTrust reloads the set of trusted certificates after a change in the database.
	ReloadTrust func(ctx context.Context) error

	// ReloadCluster reads the configuration and the trust store again, when another cluster member changed them.
	ReloadCluster func(ctx context.Context) error

	// Images is the image content store: handlers stream uploads into it, and reach everything else about images
	// through Image.
	Images *images.Store

	// Image stores, pulls, refreshes, caches and deletes images.
	Image *image.Manager

	// Ops is the registry of background operations.
	Ops *operations.Registry

	// Events distributes operation, lifecycle and logging events.
	Events *events.Server

	// Instances creates, runs and deletes instances.
	Instances *instance.Manager

	// Storage holds the storage pools: their records, drivers and volumes.
	Storage *storage.Pools

	// Warnings records and lists the daemon's warnings.
	Warnings *warnings.Manager

	// Networks creates, changes and deletes the managed networks and lists the host's interfaces.
	Networks *network.Manager

	// Projects creates, changes, renames and deletes the projects.
	Projects *project.Manager

	// Backups creates, lists, deletes, prunes and imports instance backups.
	Backups *backup.Manager
}
