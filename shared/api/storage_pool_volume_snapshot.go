package api

import "time"

// StorageVolumeSnapshotsPost is the body of a volume snapshot creation request.
//
// API extension: storage_api_volume_snapshots.
type StorageVolumeSnapshotsPost struct {
	// Name of the snapshot.
	// Example: snap0
	Name string `json:"name" yaml:"name"`

	// When the snapshot expires.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	//
	// API extension: custom_volume_snapshot_expiry
	ExpiresAt *time.Time `json:"expires_at" yaml:"expires_at"`
}

// StorageVolumeSnapshotPost is the body of a volume snapshot rename request.
//
// API extension: storage_api_volume_snapshots.
type StorageVolumeSnapshotPost struct {
	// New name of the snapshot.
	// Example: snap1
	Name string `json:"name" yaml:"name"`
}

// StorageVolumeSnapshotPut holds the writable fields of a volume snapshot.
//
// API extension: storage_api_volume_snapshots.
type StorageVolumeSnapshotPut struct {
	// Description of the snapshot.
	// Example: My snapshot
	Description string `json:"description" yaml:"description"`

	// When the snapshot expires.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	//
	// API extension: custom_volume_snapshot_expiry
	ExpiresAt *time.Time `json:"expires_at" yaml:"expires_at"`
}

// StorageVolumeSnapshot is a volume snapshot.
//
// API extension: storage_api_volume_snapshots.
type StorageVolumeSnapshot struct {
	StorageVolumeSnapshotPut `yaml:",inline"`

	// Name of the snapshot.
	// Example: snap0
	Name string `json:"name" yaml:"name"`

	// Configuration of the snapshot.
	// Example: {"size": "50GiB"}
	Config map[string]string `json:"config" yaml:"config"`

	// Content type of the snapshot (filesystem or block).
	// Example: filesystem
	//
	// API extension: custom_block_volumes
	ContentType string `json:"content_type" yaml:"content_type"`
}

// Writable returns the writable part of the snapshot.
func (s *StorageVolumeSnapshot) Writable() StorageVolumeSnapshotPut {
	return s.StorageVolumeSnapshotPut
}
