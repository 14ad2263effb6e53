package api

// ServerPut is the writable part of the server.
type ServerPut struct {
	// Config is the server configuration; secrets are masked on read.
	// Example: {"core.https_address": "127.0.0.1:8443"}
	Config map[string]any `json:"config" yaml:"config"`
}

// ServerUntrusted is what every caller, trusted or not, sees of the server.
type ServerUntrusted struct {
	// APIExtensions lists the API extensions the server implements.
	// Example: ["etag", "patch"]
	APIExtensions []string `json:"api_extensions" yaml:"api_extensions"`

	// APIStatus is the API's maturity.
	// Example: stable
	APIStatus string `json:"api_status" yaml:"api_status"`

	// APIVersion is the API version.
	// Example: 1.0
	APIVersion string `json:"api_version" yaml:"api_version"`

	// Auth tells whether the caller is trusted.
	// Example: untrusted
	Auth string `json:"auth" yaml:"auth"`

	// Public tells whether the server is a public image server.
	// Example: false
	Public bool `json:"public" yaml:"public"`

	// AuthMethods lists the supported authentication methods.
	// Example: ["tls"]
	AuthMethods []string `json:"auth_methods" yaml:"auth_methods"`
}

// ServerStorageDriverInfo describes a storage driver.
type ServerStorageDriverInfo struct {
	// Name of the driver.
	// Example: dir
	Name string `json:"Name" yaml:"name"`

	// Version of the driver.
	// Example: 1
	Version string `json:"Version" yaml:"version"`

	// Remote tells whether the driver is network backed.
	// Example: false
	Remote bool `json:"Remote" yaml:"remote"`
}

// ServerEnvironment describes the host the server runs on.
type ServerEnvironment struct {
	// Addresses the HTTPS listener is reachable on.
	// Example: ["127.0.0.1:8443"]
	Addresses []string `json:"addresses" yaml:"addresses"`

	// Architectures the server can run.
	// Example: ["x86_64", "i686"]
	Architectures []string `json:"architectures" yaml:"architectures"`

	// Certificate is the server's PEM certificate.
	Certificate string `json:"certificate" yaml:"certificate"`

	// CertificateFingerprint is the SHA-256 fingerprint of the certificate.
	// Example: 7ff3a2678e...
	CertificateFingerprint string `json:"certificate_fingerprint" yaml:"certificate_fingerprint"`

	// Driver is the instance driver.
	// Example: lxc
	Driver string `json:"driver" yaml:"driver"`

	// DriverVersion is the instance driver's version.
	// Example: 5.0.2
	DriverVersion string `json:"driver_version" yaml:"driver_version"`

	// Firewall is the firewall driver.
	// Example: nftables
	Firewall string `json:"firewall" yaml:"firewall"`

	// Kernel is the kernel name.
	// Example: Linux
	Kernel string `json:"kernel" yaml:"kernel"`

	// KernelArchitecture is the kernel's architecture.
	// Example: x86_64
	KernelArchitecture string `json:"kernel_architecture" yaml:"kernel_architecture"`

	// KernelFeatures lists optional kernel features.
	// Example: {"idmapped_mounts": "true"}
	KernelFeatures map[string]string `json:"kernel_features" yaml:"kernel_features"`

	// KernelVersion is the kernel release.
	// Example: 6.1.0-13-amd64
	KernelVersion string `json:"kernel_version" yaml:"kernel_version"`

	// LXCFeatures lists optional liblxc features.
	// Example: {"cgroup2": "true"}
	LXCFeatures map[string]string `json:"lxc_features" yaml:"lxc_features"`

	// OSName is the host distribution's name.
	// Example: Debian GNU/Linux
	OSName string `json:"os_name" yaml:"os_name"`

	// OSVersion is the host distribution's version.
	// Example: 12
	OSVersion string `json:"os_version" yaml:"os_version"`

	// Project is the project in use.
	// Example: default
	Project string `json:"project" yaml:"project"`

	// Server is the server's implementation name.
	// Example: lxd
	Server string `json:"server" yaml:"server"`

	// ServerClustered tells whether the server is part of a cluster.
	// Example: false
	ServerClustered bool `json:"server_clustered" yaml:"server_clustered"`

	// ServerEventMode is the event distribution mode.
	// Example: full-mesh
	ServerEventMode string `json:"server_event_mode" yaml:"server_event_mode"`

	// ServerName is the host name.
	// Example: host1
	ServerName string `json:"server_name" yaml:"server_name"`

	// ServerPid is the daemon's process id.
	// Example: 1453969
	ServerPid int `json:"server_pid" yaml:"server_pid"`

	// ServerVersion is the daemon's version.
	// Example: 5.0.2
	ServerVersion string `json:"server_version" yaml:"server_version"`

	// Storage is the storage driver in use.
	// Example: dir
	Storage string `json:"storage" yaml:"storage"`

	// StorageVersion is the storage driver's version.
	// Example: 1
	StorageVersion string `json:"storage_version" yaml:"storage_version"`

	// StorageSupportedDrivers lists the storage drivers available.
	StorageSupportedDrivers []ServerStorageDriverInfo `json:"storage_supported_drivers" yaml:"storage_supported_drivers"`
}

// Server is the full view of the server a trusted caller gets.
type Server struct {
	ServerPut       `yaml:",inline"`
	ServerUntrusted `yaml:",inline"`

	// Environment describes the host.
	Environment ServerEnvironment `json:"environment" yaml:"environment"`
}

// Writable returns the writable part of the server.
func (s *Server) Writable() ServerPut {
	return s.ServerPut
}
