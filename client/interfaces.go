package client

import (
	"io"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// ConnectionInfo describes how a server is reached.
type ConnectionInfo struct {
	// URL is the server's base URL (https://host:port, or http://unix.socket for the local socket).
	URL string

	// SocketPath is the unix socket path, for local connections.
	SocketPath string

	// Protocol is lxd or simplestreams.
	Protocol string

	// Certificate is the server's PEM certificate as pinned, if any.
	Certificate string
}

// Server is what every server connection offers.
type Server interface {
	GetConnectionInfo() (*ConnectionInfo, error)
	GetHTTPClient() (*http.Client, error)
	Disconnect()
}

// ImageServer is a server images can be read from.
type ImageServer interface {
	Server

	// Images.
	GetImageFingerprints() ([]string, error)
	GetImages() ([]api.Image, error)
	GetImage(fingerprint string) (*api.Image, string, error)
	GetImageSecret(fingerprint string, secret string) (*api.Image, string, error)
	GetImageFile(fingerprint string, req ImageFileRequest) (*ImageFileResponse, error)
	GetImageFileSecret(fingerprint string, secret string, req ImageFileRequest) (*ImageFileResponse, error)

	// Image aliases.
	GetImageAliases() ([]api.ImageAliasesEntry, error)
	GetImageAliasNames() ([]string, error)
	GetImageAlias(name string) (*api.ImageAliasesEntry, string, error)
	GetImageAliasType(imageType string, name string) (*api.ImageAliasesEntry, string, error)
}

// InstanceServer is a full API server.
type InstanceServer interface {
	ImageServer

	// Server.
	GetServer() (*api.Server, string, error)
	UpdateServer(server api.ServerPut, ETag string) error
	IsTrusted() (bool, error)
	HasExtension(name string) bool
	GetServerResources() (*api.Resources, error)

	// Operations.
	GetOperationUUIDs() ([]string, error)
	GetOperations() ([]api.Operation, error)
	GetOperation(uuid string) (*api.Operation, string, error)
	GetOperationWait(uuid string, timeout int) (*api.Operation, string, error)
	GetOperationWaitSecret(uuid string, secret string, timeout int) (*api.Operation, string, error)
	DeleteOperation(uuid string) error
	GetOperationWebsocket(uuid string, secret string) (*websocket.Conn, error)

	// Events.
	GetEvents() (*EventListener, error)
	// Certificates.
	GetCertificateFingerprints() ([]string, error)
	GetCertificates() ([]api.Certificate, error)
	GetCertificate(fingerprint string) (*api.Certificate, string, error)
	CreateCertificate(cert api.CertificatesPost) error
	UpdateCertificate(fingerprint string, cert api.CertificatePut, ETag string) error
	DeleteCertificate(fingerprint string) error

	// Images.
	GetImagesWithFilter(filters []string) ([]api.Image, error)
	CreateImage(image api.ImagesPost, args *ImageCreateArgs) (Operation, error)
	UpdateImage(fingerprint string, image api.ImagePut, ETag string) error
	DeleteImage(fingerprint string) (Operation, error)
	RefreshImage(fingerprint string) (Operation, error)
	ExportImage(fingerprint string, req api.ImageExportPost) (Operation, error)
	CreateImageSecret(fingerprint string) (Operation, error)
	CreateImageAlias(alias api.ImageAliasesPost) error
	UpdateImageAlias(name string, alias api.ImageAliasesEntryPut, ETag string) error
	RenameImageAlias(name string, alias api.ImageAliasesEntryPost) error
	DeleteImageAlias(name string) error

	// Instances.
	GetInstanceNames() ([]string, error)
	GetInstances() ([]api.Instance, error)
	GetInstancesFull(filters []string) ([]api.InstanceFull, error)
	GetInstance(name string) (*api.Instance, string, error)
	GetInstanceFull(name string) (*api.InstanceFull, string, error)
	CreateInstance(req api.InstancesPost) (Operation, error)
	UpdateInstance(name string, put api.InstancePut, ETag string) (Operation, error)
	RenameInstance(name string, post api.InstancePost) (Operation, error)
	DeleteInstance(name string) (Operation, error)
	GetInstanceSnapshots(name string) ([]api.InstanceSnapshot, error)
	GetInstanceSnapshot(name string, snap string) (*api.InstanceSnapshot, string, error)
	CreateInstanceSnapshot(name string, req api.InstanceSnapshotsPost) (Operation, error)
	RenameInstanceSnapshot(name string, snap string, req api.InstanceSnapshotPost) (Operation, error)
	DeleteInstanceSnapshot(name string, snap string) (Operation, error)

	// Instance backups.
	GetInstanceBackupNames(name string) ([]string, error)
	GetInstanceBackups(name string) ([]api.InstanceBackup, error)
	GetInstanceBackup(name string, backup string) (*api.InstanceBackup, string, error)
	CreateInstanceBackup(name string, req api.InstanceBackupsPost) (Operation, error)
	RenameInstanceBackup(name string, backup string, req api.InstanceBackupPost) (Operation, error)
	DeleteInstanceBackup(name string, backup string) (Operation, error)
	GetInstanceBackupFile(name string, backup string, req *InstanceBackupArgs) (*InstanceBackupFileResponse, error)
	CreateInstanceFromBackup(args InstanceBackupImportArgs) (Operation, error)
	GetInstanceState(name string) (*api.InstanceState, string, error)
	UpdateInstanceState(name string, state api.InstanceStatePut, ETag string) (Operation, error)
	ExecInstance(name string, req api.InstanceExecPost, args *InstanceExecArgs) (Operation, error)
	GetInstanceFile(name string, path string) (io.ReadCloser, *InstanceFileResponse, error)
	CreateInstanceFile(name string, path string, args InstanceFileArgs) error
	DeleteInstanceFile(name string, path string) error
	GetInstanceLogfiles(name string) ([]string, error)
	GetInstanceLogfile(name string, filename string) (io.ReadCloser, error)
	DeleteInstanceLogfile(name string, filename string) error
	ConsoleInstance(name string, req api.InstanceConsolePost, args *InstanceConsoleArgs) (Operation, error)
	GetInstanceConsoleLog(name string) (io.ReadCloser, error)
	DeleteInstanceConsoleLog(name string) error
	GetInstanceMetadata(name string) (*api.ImageMetadata, string, error)
	UpdateInstanceMetadata(name string, metadata api.ImageMetadata, ETag string) error
	GetInstanceTemplateFiles(name string) ([]string, error)
	GetInstanceTemplateFile(name string, file string) (io.ReadCloser, error)
	CreateInstanceTemplateFile(name string, file string, content io.ReadSeeker) error
	UpdateInstanceTemplateFile(name string, file string, content io.ReadSeeker) error
	DeleteInstanceTemplateFile(name string, file string) error

	// Profiles.
	GetProfileNames() ([]string, error)
	GetProfiles() ([]api.Profile, error)
	GetProfile(name string) (*api.Profile, string, error)
	CreateProfile(profile api.ProfilesPost) error
	UpdateProfile(name string, put api.ProfilePut, ETag string) error
	RenameProfile(name string, post api.ProfilePost) error
	DeleteProfile(name string) error

	// Networks.
	GetNetworkNames() ([]string, error)
	GetNetworks() ([]api.Network, error)
	GetNetwork(name string) (*api.Network, string, error)
	CreateNetwork(network api.NetworksPost) error
	UpdateNetwork(name string, network api.NetworkPut, ETag string) error
	RenameNetwork(name string, network api.NetworkPost) error
	DeleteNetwork(name string) error
	GetNetworkLeases(name string) ([]api.NetworkLease, error)
	GetNetworkState(name string) (*api.NetworkState, error)

	// Projects.
	GetProjectNames() ([]string, error)
	GetProjects() ([]api.Project, error)
	GetProject(name string) (*api.Project, string, error)
	GetProjectState(name string) (*api.ProjectState, error)
	CreateProject(project api.ProjectsPost) error
	UpdateProject(name string, project api.ProjectPut, ETag string) error
	RenameProject(name string, project api.ProjectPost) (Operation, error)
	DeleteProject(name string) error

	// Warnings.
	GetWarningUUIDs() ([]string, error)
	GetWarnings() ([]api.Warning, error)
	GetWarning(uuid string) (*api.Warning, string, error)
	UpdateWarning(uuid string, warning api.WarningPut, ETag string) error
	DeleteWarning(uuid string) error

	// Storage pools.
	GetStoragePoolNames() ([]string, error)
	GetStoragePools() ([]api.StoragePool, error)
	GetStoragePool(name string) (*api.StoragePool, string, error)
	CreateStoragePool(pool api.StoragePoolsPost) error
	UpdateStoragePool(name string, pool api.StoragePoolPut, ETag string) error
	DeleteStoragePool(name string) error
	GetStoragePoolResources(name string) (*api.ResourcesStoragePool, error)

	// Storage volumes.
	GetStoragePoolVolumeNames(pool string) ([]string, error)
	GetStoragePoolVolumes(pool string) ([]api.StorageVolume, error)
	GetStoragePoolVolume(pool string, volType string, name string) (*api.StorageVolume, string, error)
	GetStoragePoolVolumeState(pool string, volType string, name string) (*api.StorageVolumeState, error)
	CreateStoragePoolVolume(pool string, volume api.StorageVolumesPost) error
	UpdateStoragePoolVolume(pool string, volType string, name string, volume api.StorageVolumePut, ETag string) error
	RenameStoragePoolVolume(pool string, volType string, name string, volume api.StorageVolumePost) error
	DeleteStoragePoolVolume(pool string, volType string, name string) error
	CopyStoragePoolVolume(pool string, source InstanceServer, sourcePool string, volume api.StorageVolume, args *StoragePoolVolumeCopyArgs) (Operation, error)
	MoveStoragePoolVolume(pool string, source InstanceServer, sourcePool string, volume api.StorageVolume, args *StoragePoolVolumeMoveArgs) (Operation, error)

	// Storage volume snapshots.
	CreateStoragePoolVolumeSnapshot(pool string, volType string, name string, snapshot api.StorageVolumeSnapshotsPost) (Operation, error)
	GetStoragePoolVolumeSnapshotNames(pool string, volType string, name string) ([]string, error)
	GetStoragePoolVolumeSnapshots(pool string, volType string, name string) ([]api.StorageVolumeSnapshot, error)
	GetStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) (*api.StorageVolumeSnapshot, string, error)
	UpdateStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string, snapshot api.StorageVolumeSnapshotPut, ETag string) error
	RenameStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string, snapshot api.StorageVolumeSnapshotPost) (Operation, error)
	DeleteStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) (Operation, error)
	RestoreStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) error

	// UseProject returns a connection to the same server whose requests name the project name.
	UseProject(name string) InstanceServer

	// UseTarget returns a connection to the same server whose requests name the cluster member name as the one to
	// serve them.
	UseTarget(name string) InstanceServer

	// Raw access, for commands that need an endpoint not wrapped here.
	RawQuery(method string, path string, data any, ETag string) (*api.ResponseRaw, string, error)

	// Cluster.
	GetCluster() (*api.Cluster, string, error)
	UpdateCluster(cluster api.ClusterPut, ETag string) (Operation, error)
	GetClusterMemberNames() ([]string, error)
	GetClusterMembers() ([]api.ClusterMember, error)
	GetClusterMember(name string) (*api.ClusterMember, string, error)
	UpdateClusterMember(name string, member api.ClusterMemberPut, ETag string) error
	RenameClusterMember(name string, member api.ClusterMemberPost) error
	DeleteClusterMember(name string, force bool) error

	// UpdateClusterMemberState evacuates or restores a cluster member.
	UpdateClusterMemberState(name string, state api.ClusterMemberStatePost) (Operation, error)
	CreateClusterMember(member api.ClusterMembersPost) (Operation, error)
	UpdateClusterCertificate(certs api.ClusterCertificatePut, etag string) error
}

// ConnectionArgs configures a connection.
type ConnectionArgs struct {
	// TLSClientCert and TLSClientKey are the client's PEM key pair, presented to HTTPS servers.
	TLSClientCert string
	TLSClientKey  string

	// TLSServerCert pins the server's PEM certificate; without it the system trust store is used.
	TLSServerCert string

	// UserAgent is sent with every request.
	UserAgent string

	// SkipGetServer skips the initial GET /1.0 that checks the server.
	SkipGetServer bool
}
