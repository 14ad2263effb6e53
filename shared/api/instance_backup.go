package api

import "time"

// InstanceBackupsPost creates a backup of an instance.
//
// API extension: container_backup.
type InstanceBackupsPost struct {
	// Backup name; empty picks backupN.
	// Example: backup0
	Name string `json:"name" yaml:"name"`

	// When the backup expires (gets auto-deleted); the zero time never.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`

	// Whether to leave the snapshots out.
	// Example: false
	InstanceOnly bool `json:"instance_only" yaml:"instance_only"`

	// Whether to leave the snapshots out (the name older clients send).
	// Example: false
	ContainerOnly bool `json:"container_only" yaml:"container_only"`

	// Whether to use a storage driver optimized format.
	// Example: false
	OptimizedStorage bool `json:"optimized_storage" yaml:"optimized_storage"`

	// What compression algorithm to use.
	// Example: gzip
	//
	// API extension: backup_compression_algorithm
	CompressionAlgorithm string `json:"compression_algorithm" yaml:"compression_algorithm"`
}

// InstanceBackup is one backup of an instance.
//
// API extension: container_backup.
type InstanceBackup struct {
	// Backup name.
	// Example: backup0
	Name string `json:"name" yaml:"name"`

	// When the backup was created.
	// Example: 2021-03-23T16:38:37.753398689-04:00
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`

	// When the backup expires (gets auto-deleted).
	// Example: 2021-03-23T17:38:37.753398689-04:00
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`

	// Whether to ignore snapshots.
	// Example: false
	InstanceOnly bool `json:"instance_only" yaml:"instance_only"`

	// Whether to ignore snapshots (the name older clients read).
	// Example: false
	ContainerOnly bool `json:"container_only" yaml:"container_only"`

	// Whether to use a storage driver optimized format.
	// Example: false
	OptimizedStorage bool `json:"optimized_storage" yaml:"optimized_storage"`
}

// InstanceBackupPost renames a backup.
//
// API extension: container_backup.
type InstanceBackupPost struct {
	// New backup name.
	// Example: backup1
	Name string `json:"name" yaml:"name"`
}
