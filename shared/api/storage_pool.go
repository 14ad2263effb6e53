package api

// Storage pool statuses.
const (
	// StoragePoolStatusPending is a pool not yet created on every member.
	StoragePoolStatusPending = "Pending"

	// StoragePoolStatusCreated is a pool fully created.
	StoragePoolStatusCreated = "Created"

	// StoragePoolStatusErrored is a pool whose creation failed.
	StoragePoolStatusErrored = "Errored"

	// StoragePoolStatusUnknown is a pool in an unknown state.
	StoragePoolStatusUnknown = "Unknown"

	// StoragePoolStatusUnvailable is a pool that failed to start (LXD's spelling).
	StoragePoolStatusUnvailable = "Unavailable"
)

// StoragePoolsPost is the body of a storage pool creation request.
//
// API extension: storage.
type StoragePoolsPost struct {
	StoragePoolPut `yaml:",inline"`

	// Name of the pool.
	// Example: local
	Name string `json:"name" yaml:"name"`

	// Storage driver (dir or btrfs).
	// Example: btrfs
	Driver string `json:"driver" yaml:"driver"`
}

// StoragePoolPut holds the writable fields of a storage pool.
//
// API extension: storage.
type StoragePoolPut struct {
	// Pool configuration (see doc/storage.md).
	// Example: {"size": "10GiB", "btrfs.mount_options": "compress=zstd"}
	Config map[string]string `json:"config" yaml:"config"`

	// Description of the pool.
	// Example: Local SSD pool
	//
	// API extension: entity_description
	Description string `json:"description" yaml:"description"`
}

// StoragePool is a storage pool.
//
// API extension: storage.
type StoragePool struct {
	StoragePoolPut `yaml:",inline"`

	// Name of the pool.
	// Example: local
	Name string `json:"name" yaml:"name"`

	// Storage driver (dir or btrfs).
	// Example: btrfs
	Driver string `json:"driver" yaml:"driver"`

	// URLs of the objects using the pool.
	// Example: ["/1.0/profiles/default", "/1.0/instances/c1"]
	UsedBy []string `json:"used_by" yaml:"used_by"`

	// Status of the pool (Pending, Created, Errored, Unknown or Unavailable).
	// Example: Created
	//
	// API extension: clustering
	Status string `json:"status" yaml:"status"`

	// Cluster members on which the pool is defined.
	// Example: ["none"]
	//
	// API extension: clustering
	Locations []string `json:"locations" yaml:"locations"`
}

// Writable returns the writable part of the pool.
func (p *StoragePool) Writable() StoragePoolPut {
	return p.StoragePoolPut
}

// StoragePoolState is the state of a storage pool.
//
// API extension: cluster_member_state.
type StoragePoolState struct {
	ResourcesStoragePool `yaml:",inline"`
}

// ResourcesStoragePool is the space and inode usage of a storage pool.
//
// API extension: resources.
type ResourcesStoragePool struct {
	// Disk space usage.
	Space ResourcesStoragePoolSpace `json:"space,omitempty" yaml:"space,omitempty"`

	// Inode usage.
	Inodes ResourcesStoragePoolInodes `json:"inodes,omitempty" yaml:"inodes,omitempty"`
}

// ResourcesStoragePoolSpace is the disk space usage of a storage pool.
//
// API extension: resources.
type ResourcesStoragePoolSpace struct {
	// Used space in bytes.
	// Example: 15032385536
	Used uint64 `json:"used,omitempty" yaml:"used,omitempty"`

	// Total space in bytes.
	// Example: 21474836480
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesStoragePoolInodes is the inode usage of a storage pool.
//
// API extension: resources.
type ResourcesStoragePoolInodes struct {
	// Used inodes.
	// Example: 23533
	Used uint64 `json:"used" yaml:"used"`

	// Total inodes.
	// Example: 30000000
	Total uint64 `json:"total" yaml:"total"`
}
