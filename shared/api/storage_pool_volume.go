package api

// StorageVolumesPost is the body of a storage volume creation request.
//
// API extension: storage.
type StorageVolumesPost struct {
	StorageVolumePut `yaml:",inline"`

	// Name of the volume.
	// Example: foo
	Name string `json:"name" yaml:"name"`

	// Type of the volume (container, custom, image or virtual-machine).
	// Example: custom
	Type string `json:"type" yaml:"type"`

	// Source of the volume (copy or migration).
	//
	// API extension: storage_api_local_volume_handling
	Source StorageVolumeSource `json:"source" yaml:"source"`

	// Content type of the volume (filesystem or block).
	// Example: filesystem
	//
	// API extension: custom_block_volumes
	ContentType string `json:"content_type" yaml:"content_type"`
}

// StorageVolumePost is the body of a storage volume rename or move request.
//
// API extension: storage_api_volume_rename.
type StorageVolumePost struct {
	// New name of the volume.
	// Example: foo
	Name string `json:"name" yaml:"name"`

	// Target pool.
	// Example: remote
	//
	// API extension: storage_api_local_volume_handling
	Pool string `json:"pool,omitempty" yaml:"pool,omitempty"`

	// Whether to start a migration.
	// Example: false
	//
	// API extension: storage_api_remote_volume_handling
	Migration bool `json:"migration" yaml:"migration"`

	// Migration target (push mode).
	//
	// API extension: storage_api_remote_volume_handling
	Target *StorageVolumePostTarget `json:"target" yaml:"target"`

	// Whether to leave the snapshots out (migration only).
	// Example: false
	//
	// API extension: storage_api_remote_volume_snapshots
	VolumeOnly bool `json:"volume_only" yaml:"volume_only"`

	// Target project.
	// Example: foo
	//
	// API extension: storage_volume_project_move
	Project string `json:"project,omitempty" yaml:"project,omitempty"`
}

// StorageVolumePostTarget is the target of a push-mode volume migration.
//
// API extension: storage_api_remote_volume_handling.
type StorageVolumePostTarget struct {
	// Certificate of the migration target.
	// Example: X509 PEM certificate
	Certificate string `json:"certificate" yaml:"certificate"`

	// Operation URL on the target.
	// Example: https://1.2.3.4:8443/1.0/operations/1721ae08-b6a8-416a-9614-3f89302466e1
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`

	// Websocket secrets.
	// Example: {"migration": "random-string"}
	Websockets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`
}

// StorageVolumePut holds the writable fields of a storage volume.
//
// API extension: storage.
type StorageVolumePut struct {
	// Volume configuration (see doc/storage.md).
	// Example: {"size": "50GiB"}
	Config map[string]string `json:"config" yaml:"config"`

	// Description of the volume.
	// Example: My custom volume
	//
	// API extension: entity_description
	Description string `json:"description" yaml:"description"`

	// Name of a snapshot to restore.
	// Example: snap0
	//
	// API extension: storage_api_volume_snapshots
	Restore string `json:"restore,omitempty" yaml:"restore,omitempty"`
}

// StorageVolume is a storage volume.
//
// API extension: storage.
type StorageVolume struct {
	StorageVolumePut `yaml:",inline"`

	// Name of the volume.
	// Example: foo
	Name string `json:"name" yaml:"name"`

	// Type of the volume.
	// Example: custom
	Type string `json:"type" yaml:"type"`

	// URLs of the objects using the volume.
	// Example: ["/1.0/instances/c1"]
	UsedBy []string `json:"used_by" yaml:"used_by"`

	// Cluster member holding the volume.
	// Example: lxd01
	//
	// API extension: clustering
	Location string `json:"location" yaml:"location"`

	// Content type of the volume (filesystem or block).
	// Example: filesystem
	//
	// API extension: custom_block_volumes
	ContentType string `json:"content_type" yaml:"content_type"`

	// Project the volume belongs to.
	// Example: default
	//
	// API extension: storage_volumes_all_projects
	Project string `json:"project" yaml:"project"`
}

// Writable returns the writable part of the volume.
func (v *StorageVolume) Writable() StorageVolumePut {
	return v.StorageVolumePut
}

// StorageVolumeSource is where a new volume comes from.
//
// API extension: storage_api_local_volume_handling.
type StorageVolumeSource struct {
	// Source volume name (copy).
	// Example: foo
	Name string `json:"name" yaml:"name"`

	// Source type (copy or migration).
	// Example: copy
	Type string `json:"type" yaml:"type"`

	// Source pool (copy).
	// Example: local
	Pool string `json:"pool" yaml:"pool"`

	// Certificate of the source (migration).
	// Example: X509 PEM certificate
	//
	// API extension: storage_api_remote_volume_handling
	Certificate string `json:"certificate" yaml:"certificate"`

	// Migration mode (pull or push).
	// Example: pull
	//
	// API extension: storage_api_remote_volume_handling
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`

	// Operation URL on the source (migration).
	// Example: https://1.2.3.4:8443/1.0/operations/1721ae08-b6a8-416a-9614-3f89302466e1
	//
	// API extension: storage_api_remote_volume_handling
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`

	// Websocket secrets (migration).
	// Example: {"rsync": "RANDOM-STRING"}
	//
	// API extension: storage_api_remote_volume_handling
	Websockets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`

	// Whether to leave the snapshots out (migration).
	// Example: false
	//
	// API extension: storage_api_volume_snapshots
	VolumeOnly bool `json:"volume_only" yaml:"volume_only"`

	// Whether to refresh an existing target volume.
	// Example: false
	//
	// API extension: custom_volume_refresh
	Refresh bool `json:"refresh" yaml:"refresh"`

	// Source project.
	// Example: foo
	//
	// API extension: storage_api_project
	Project string `json:"project,omitempty" yaml:"project,omitempty"`
}

// StorageVolumeState is the live state of a volume.
//
// API extension: storage_volume_state.
type StorageVolumeState struct {
	// Usage of the volume.
	Usage *StorageVolumeStateUsage `json:"usage" yaml:"usage"`
}

// StorageVolumeStateUsage is the disk usage of a volume.
//
// API extension: storage_volume_state.
type StorageVolumeStateUsage struct {
	// Used space in bytes.
	// Example: 1693552640
	Used uint64 `json:"used,omitempty" yaml:"used,omitempty"`

	// Total space in bytes (-1 when unlimited).
	// Example: 5189222192
	//
	// API extension: storage_volume_state_total
	Total int64 `json:"total" yaml:"total"`
}
