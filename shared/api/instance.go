package api

import "time"

// InstanceTypeContainer is the only instance type this server runs.
const InstanceTypeContainer = "container"

// InstanceTypeVM is the type of virtual machines, which clients may ask for and this server refuses.
const InstanceTypeVM = "virtual-machine"

// InstancePut is the writable part of an instance.
type InstancePut struct {
	// Architecture is the instance architecture.
	// Example: x86_64
	Architecture string `json:"architecture" yaml:"architecture"`

	// Config holds the instance configuration keys.
	// Example: {"limits.memory": "256MiB"}
	Config map[string]string `json:"config" yaml:"config"`

	// Devices are the instance's own devices, keyed by device name.
	// Example: {"root": {"type": "disk", "pool": "default", "path": "/"}}
	Devices map[string]map[string]string `json:"devices" yaml:"devices"`

	// Ephemeral instances are deleted when they stop.
	// Example: false
	Ephemeral bool `json:"ephemeral" yaml:"ephemeral"`

	// Profiles applied to the instance, in order.
	// Example: ["default"]
	Profiles []string `json:"profiles" yaml:"profiles"`

	// Stateful tells whether a stateful stop was requested (never, here).
	// Example: false
	Stateful bool `json:"stateful" yaml:"stateful"`

	// Description is free text.
	// Example: web server
	Description string `json:"description" yaml:"description"`

	// Restore names a snapshot to restore the instance from (PUT only).
	// Example: snap0
	Restore string `json:"restore,omitempty" yaml:"restore,omitempty"`
}

// Instance is an instance as the API shows it.
type Instance struct {
	InstancePut `yaml:",inline"`

	// CreatedAt is when the instance was created.
	// Example: 2021-03-23T20:00:00-04:00
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`

	// ExpandedConfig is the configuration with profiles applied.
	// Example: {"limits.memory": "256MiB"}
	ExpandedConfig map[string]string `json:"expanded_config" yaml:"expanded_config"`

	// ExpandedDevices are the devices with profiles applied.
	// Example: {"root": {"type": "disk", "pool": "default", "path": "/"}}
	ExpandedDevices map[string]map[string]string `json:"expanded_devices" yaml:"expanded_devices"`

	// Name is the instance name.
	// Example: c1
	Name string `json:"name" yaml:"name"`

	// Status is the textual status.
	// Example: Running
	Status string `json:"status" yaml:"status"`

	// StatusCode is the numeric status.
	// Example: 103
	StatusCode StatusCode `json:"status_code" yaml:"status_code"`

	// LastUsedAt is when the instance last started.
	// Example: 2021-03-23T20:00:00-04:00
	LastUsedAt time.Time `json:"last_used_at" yaml:"last_used_at"`

	// Location is the cluster member; always none.
	// Example: none
	Location string `json:"location" yaml:"location"`

	// Type is container.
	// Example: container
	Type string `json:"type" yaml:"type"`

	// Project is the project the instance belongs to.
	// Example: default
	Project string `json:"project" yaml:"project"`
}

// Writable returns the writable part of the instance.
func (i Instance) Writable() InstancePut {
	return i.InstancePut
}

// InstanceFull is an instance with its state and snapshots (recursion=2, or recursion=1 on one instance).
//
// API extension: instance_get_full.
type InstanceFull struct {
	Instance `yaml:",inline"`

	// Backups of the instance.
	Backups []InstanceBackup `json:"backups" yaml:"backups"`

	// State is the runtime state.
	State *InstanceState `json:"state" yaml:"state"`

	// Snapshots of the instance.
	Snapshots []InstanceSnapshot `json:"snapshots" yaml:"snapshots"`
}

// InstanceSnapshot is a snapshot of an instance.
type InstanceSnapshot struct {
	// ExpiresAt is when the snapshot expires; the zero time means never.
	// Example: 0001-01-01T00:00:00Z
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`

	// Architecture of the instance when the snapshot was taken.
	// Example: x86_64
	Architecture string `json:"architecture" yaml:"architecture"`

	// Config of the instance when the snapshot was taken.
	// Example: {"limits.memory": "256MiB"}
	Config map[string]string `json:"config" yaml:"config"`

	// CreatedAt is when the snapshot was taken.
	// Example: 2021-03-23T20:00:00-04:00
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`

	// Devices of the instance when the snapshot was taken.
	// Example: {}
	Devices map[string]map[string]string `json:"devices" yaml:"devices"`

	// Ephemeral tells whether the instance was ephemeral.
	// Example: false
	Ephemeral bool `json:"ephemeral" yaml:"ephemeral"`

	// ExpandedConfig is the config with the profiles applied.
	// Example: {"limits.memory": "256MiB"}
	ExpandedConfig map[string]string `json:"expanded_config" yaml:"expanded_config"`

	// ExpandedDevices are the devices with the profiles applied.
	// Example: {"root": {"type": "disk", "pool": "default", "path": "/"}}
	ExpandedDevices map[string]map[string]string `json:"expanded_devices" yaml:"expanded_devices"`

	// LastUsedAt is when the snapshot was last used.
	// Example: 0001-01-01T00:00:00Z
	LastUsedAt time.Time `json:"last_used_at" yaml:"last_used_at"`

	// Name is the snapshot name.
	// Example: snap0
	Name string `json:"name" yaml:"name"`

	// Profiles of the instance when the snapshot was taken.
	// Example: ["default"]
	Profiles []string `json:"profiles" yaml:"profiles"`

	// Stateful tells whether the snapshot holds runtime state (never, here).
	// Example: false
	Stateful bool `json:"stateful" yaml:"stateful"`

	// Size of the snapshot in bytes, or -1 when unknown.
	// Example: -1
	Size int64 `json:"size" yaml:"size"`

	// Description is the description the instance had when the snapshot was taken (not on LXD's wire: left out
	// when empty).
	// Example: before the upgrade
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// InstanceSnapshotsPost creates a snapshot.
type InstanceSnapshotsPost struct {
	// Name of the snapshot; empty picks snapN.
	// Example: snap0
	Name string `json:"name" yaml:"name"`

	// Stateful asks for runtime state too (not supported).
	// Example: false
	Stateful bool `json:"stateful" yaml:"stateful"`

	// ExpiresAt is when the snapshot expires; null or the zero time means never.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	ExpiresAt *time.Time `json:"expires_at" yaml:"expires_at"`
}

// InstanceSnapshotPost renames a snapshot.
type InstanceSnapshotPost struct {
	// Name is the new name.
	// Example: snap1
	Name string `json:"name" yaml:"name"`

	// Migration asks for a migration (not supported).
	// Example: false
	Migration bool `json:"migration" yaml:"migration"`

	// Live asks for a live migration (not supported).
	// Example: false
	Live bool `json:"live" yaml:"live"`

	// Target is the target of a push-mode migration of the snapshot.
	//
	// API extension: container_push_target
	Target *InstancePostTarget `json:"target,omitempty" yaml:"target,omitempty"`
}

// InstanceSnapshotPut holds the writable fields of a snapshot.
type InstanceSnapshotPut struct {
	// ExpiresAt is when the snapshot expires.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`
}

// InstanceSource says where a new instance comes from.
type InstanceSource struct {
	// Type is image or none.
	// Example: image
	Type string `json:"type" yaml:"type"`

	// Alias of the source image.
	// Example: ubuntu/22.04
	Alias string `json:"alias,omitempty" yaml:"alias,omitempty"`

	// Fingerprint (or unique prefix) of the source image.
	// Example: ed56997f7c5b
	Fingerprint string `json:"fingerprint,omitempty" yaml:"fingerprint,omitempty"`

	// Properties select an image by its properties (not supported here).
	// Example: {"os": "busybox"}
	Properties map[string]string `json:"properties,omitempty" yaml:"properties,omitempty"`

	// Server is the remote image server for a pull.
	// Example: https://images.example.com
	Server string `json:"server,omitempty" yaml:"server,omitempty"`

	// Secret is the image secret for a private remote image.
	// Example: RANDOM-STRING
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`

	// Protocol of the remote image server (lxd or simplestreams).
	// Example: simplestreams
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`

	// Certificate of the remote image server.
	// Example: X509 PEM certificate
	Certificate string `json:"certificate,omitempty" yaml:"certificate,omitempty"`

	// Mode is pull or push for migrations.
	// Example: pull
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`

	// Source is the instance, or instance/snapshot, a copy is made from.
	// Example: c1/snap0
	Source string `json:"source,omitempty" yaml:"source,omitempty"`

	// InstanceOnly copies an instance without its snapshots.
	// Example: false
	InstanceOnly bool `json:"instance_only,omitempty" yaml:"instance_only,omitempty"`

	// Project is the project of the instance a copy is made from; the request's project when empty.
	// Example: blah
	Project string `json:"project,omitempty" yaml:"project,omitempty"`

	// AllowInconsistent is accepted and ignored.
	// Example: false
	AllowInconsistent bool `json:"allow_inconsistent,omitempty" yaml:"allow_inconsistent,omitempty"`

	// Operation is the URL of the source's migration operation (migration in pull mode).
	// Example: https://1.2.3.4:8443/1.0/operations/1721ae08-b6a8-416a-9614-3f89302466e1
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`

	// Websockets are the secrets of the source's migration websockets (control, fs).
	// Example: {"control": "RANDOM-STRING", "fs": "RANDOM-STRING"}
	Websockets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`

	// BaseImage is the image the migrated instance was made from.
	// Example: ed56997f7c5b
	BaseImage string `json:"base-image,omitempty" yaml:"base-image,omitempty"`

	// Live asks for a live migration (not supported).
	// Example: false
	Live bool `json:"live,omitempty" yaml:"live,omitempty"`

	// ContainerOnly is the former name of InstanceOnly.
	// Example: false
	ContainerOnly bool `json:"container_only,omitempty" yaml:"container_only,omitempty"`

	// Refresh updates an existing copy (migration).
	// Example: false
	Refresh bool `json:"refresh,omitempty" yaml:"refresh,omitempty"`
}

// InstancesPost creates an instance.
type InstancesPost struct {
	InstancePut `yaml:",inline"`

	// Name of the new instance.
	// Example: c1
	Name string `json:"name" yaml:"name"`

	// Source of the root filesystem.
	Source InstanceSource `json:"source" yaml:"source"`

	// InstanceType is a cloud instance type, or cN-mM for N CPUs and M GiB of memory.
	// Example: t2.micro
	InstanceType string `json:"instance_type" yaml:"instance_type"`

	// Type is container (the default).
	// Example: container
	Type string `json:"type" yaml:"type"`
}

// InstancePost renames an instance.
type InstancePost struct {
	// Name is the new name.
	// Example: c2
	Name string `json:"name" yaml:"name"`

	// Migration asks for a migration: with Pool, a move to another storage pool of this server; without it, an
	// operation other servers connect to (or, with Target, that connects to them) to receive the instance.
	// Example: false
	Migration bool `json:"migration" yaml:"migration"`

	// Pool is the storage pool to move the instance to (with Migration).
	// Example: default
	//
	// API extension: instance_pool_move
	Pool string `json:"pool" yaml:"pool"`

	// Live asks for a live migration (not supported).
	// Example: false
	Live bool `json:"live" yaml:"live"`

	// InstanceOnly migrates the instance without its snapshots.
	// Example: false
	//
	// API extension: container_only_migration
	InstanceOnly bool `json:"instance_only" yaml:"instance_only"`

	// ContainerOnly is the former name of InstanceOnly.
	// Example: false
	ContainerOnly bool `json:"container_only" yaml:"container_only"`

	// Target is the target of a push-mode migration.
	//
	// API extension: container_push_target
	Target *InstancePostTarget `json:"target" yaml:"target"`
}

// InstancePostTarget is the target server of a push-mode migration.
type InstancePostTarget struct {
	// Certificate is the target server's PEM certificate.
	// Example: X509 PEM certificate
	Certificate string `json:"certificate" yaml:"certificate"`

	// Operation is the URL of the target's migration operation.
	// Example: https://1.2.3.4:8443/1.0/operations/1721ae08-b6a8-416a-9614-3f89302466e1
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`

	// Websockets are the secrets of the target's migration websockets.
	// Example: {"control": "RANDOM-STRING", "fs": "RANDOM-STRING"}
	Websockets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`
}

// InstanceStatePut changes the running state of an instance.
type InstanceStatePut struct {
	// Action is start, stop, restart, freeze or unfreeze.
	// Example: start
	Action string `json:"action" yaml:"action"`

	// Timeout in seconds for a clean stop; -1 waits for ever, 0 stops at once.
	// Example: 30
	Timeout int `json:"timeout" yaml:"timeout"`

	// Force stops by killing the instance.
	// Example: false
	Force bool `json:"force" yaml:"force"`

	// Stateful asks for a stateful stop or start (not supported here).
	// Example: false
	Stateful bool `json:"stateful" yaml:"stateful"`
}

// InstanceState is the runtime state of an instance.
type InstanceState struct {
	// Status is the textual status.
	// Example: Running
	Status string `json:"status" yaml:"status"`

	// StatusCode is the numeric status.
	// Example: 103
	StatusCode StatusCode `json:"status_code" yaml:"status_code"`

	// Disk usage by device.
	Disk map[string]InstanceStateDisk `json:"disk" yaml:"disk"`

	// Memory usage.
	Memory InstanceStateMemory `json:"memory" yaml:"memory"`

	// Network interfaces by name.
	Network map[string]InstanceStateNetwork `json:"network" yaml:"network"`

	// Pid is the host PID of the instance's init, 0 when stopped.
	// Example: 7281
	Pid int64 `json:"pid" yaml:"pid"`

	// Processes is the number of processes, -1 when unknown.
	// Example: 50
	Processes int64 `json:"processes" yaml:"processes"`

	// CPU usage.
	CPU InstanceStateCPU `json:"cpu" yaml:"cpu"`
}

// InstanceStateDisk is the usage of one disk device.
type InstanceStateDisk struct {
	// Usage in bytes.
	// Example: 502239232
	Usage int64 `json:"usage" yaml:"usage"`
}

// InstanceStateCPU is the CPU usage.
type InstanceStateCPU struct {
	// Usage is the CPU time in nanoseconds.
	// Example: 3637691016
	Usage int64 `json:"usage" yaml:"usage"`
}

// InstanceStateMemory is the memory usage.
type InstanceStateMemory struct {
	// Usage in bytes.
	// Example: 73248768
	Usage int64 `json:"usage" yaml:"usage"`

	// UsagePeak in bytes.
	// Example: 73785344
	UsagePeak int64 `json:"usage_peak" yaml:"usage_peak"`

	// SwapUsage in bytes.
	// Example: 0
	SwapUsage int64 `json:"swap_usage" yaml:"swap_usage"`

	// SwapUsagePeak in bytes.
	// Example: 0
	SwapUsagePeak int64 `json:"swap_usage_peak" yaml:"swap_usage_peak"`
}

// InstanceStateNetwork is one network interface.
type InstanceStateNetwork struct {
	// Addresses of the interface.
	Addresses []InstanceStateNetworkAddress `json:"addresses" yaml:"addresses"`

	// Counters of the interface.
	Counters InstanceStateNetworkCounters `json:"counters" yaml:"counters"`

	// Hwaddr is the MAC address.
	// Example: 10:66:6a:0c:ee:dd
	Hwaddr string `json:"hwaddr" yaml:"hwaddr"`

	// HostName is the host side interface name.
	// Example: vethbbcd39c7
	HostName string `json:"host_name" yaml:"host_name"`

	// Mtu of the interface.
	// Example: 1500
	Mtu int `json:"mtu" yaml:"mtu"`

	// State is up or down.
	// Example: up
	State string `json:"state" yaml:"state"`

	// Type is the interface type.
	// Example: broadcast
	Type string `json:"type" yaml:"type"`
}

// InstanceStateNetworkAddress is one address of an interface.
type InstanceStateNetworkAddress struct {
	// Family is inet or inet6.
	// Example: inet
	Family string `json:"family" yaml:"family"`

	// Address is the IP address.
	// Example: 10.0.0.2
	Address string `json:"address" yaml:"address"`

	// Netmask is the prefix length.
	// Example: 24
	Netmask string `json:"netmask" yaml:"netmask"`

	// Scope is global, link or local.
	// Example: global
	Scope string `json:"scope" yaml:"scope"`
}

// InstanceStateNetworkCounters are traffic counters.
type InstanceStateNetworkCounters struct {
	// BytesReceived counts received bytes.
	// Example: 192021
	BytesReceived int64 `json:"bytes_received" yaml:"bytes_received"`

	// BytesSent counts sent bytes.
	// Example: 10888579
	BytesSent int64 `json:"bytes_sent" yaml:"bytes_sent"`

	// PacketsReceived counts received packets.
	// Example: 1748
	PacketsReceived int64 `json:"packets_received" yaml:"packets_received"`

	// PacketsSent counts sent packets.
	// Example: 964
	PacketsSent int64 `json:"packets_sent" yaml:"packets_sent"`

	// ErrorsReceived counts receive errors.
	// Example: 14
	//
	// API extension: network_counters_errors_dropped.
	ErrorsReceived int64 `json:"errors_received" yaml:"errors_received"`

	// ErrorsSent counts transmit errors.
	// Example: 41
	//
	// API extension: network_counters_errors_dropped.
	ErrorsSent int64 `json:"errors_sent" yaml:"errors_sent"`

	// PacketsDroppedOutbound counts outbound packets dropped.
	// Example: 541
	//
	// API extension: network_counters_errors_dropped.
	PacketsDroppedOutbound int64 `json:"packets_dropped_outbound" yaml:"packets_dropped_outbound"`

	// PacketsDroppedInbound counts inbound packets dropped.
	// Example: 179
	//
	// API extension: network_counters_errors_dropped.
	PacketsDroppedInbound int64 `json:"packets_dropped_inbound" yaml:"packets_dropped_inbound"`
}

// InstanceExecPost runs a command in an instance.
type InstanceExecPost struct {
	// Command and its arguments.
	// Example: ["bash"]
	Command []string `json:"command" yaml:"command"`

	// WaitForWS makes the command wait for the websockets to connect.
	// Example: true
	WaitForWS bool `json:"wait-for-websocket" yaml:"wait-for-websocket"`

	// Interactive runs the command on a terminal.
	// Example: false
	Interactive bool `json:"interactive" yaml:"interactive"`

	// Environment variables added to the defaults.
	// Example: {"FOO": "BAR"}
	Environment map[string]string `json:"environment" yaml:"environment"`

	// Width of the terminal.
	// Example: 80
	Width int `json:"width" yaml:"width"`

	// Height of the terminal.
	// Example: 25
	Height int `json:"height" yaml:"height"`

	// RecordOutput keeps the output in log files.
	// Example: false
	RecordOutput bool `json:"record-output" yaml:"record-output"`

	// User is the uid to run as.
	//
	// API extension: container_exec_user_group_cwd.
	// Example: 1000
	User uint32 `json:"user" yaml:"user"`

	// Group is the gid to run as.
	//
	// API extension: container_exec_user_group_cwd.
	// Example: 1000
	Group uint32 `json:"group" yaml:"group"`

	// Cwd is the working directory.
	//
	// API extension: container_exec_user_group_cwd.
	// Example: /root
	Cwd string `json:"cwd" yaml:"cwd"`
}

// InstanceExecControl is a message on the control websocket of an exec.
type InstanceExecControl struct {
	// Command is window-resize or signal.
	// Example: window-resize
	Command string `json:"command" yaml:"command"`

	// Args of the command (width and height, as strings).
	// Example: {"width": "80", "height": "25"}
	Args map[string]string `json:"args" yaml:"args"`

	// Signal to forward.
	// Example: 15
	Signal int `json:"signal" yaml:"signal"`
}
