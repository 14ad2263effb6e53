package client

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// StoragePoolVolumeCopyArgs are the options of CopyStoragePoolVolume.
type StoragePoolVolumeCopyArgs struct {
	// Name is the new volume's name (default: the source's).
	Name string

	// Mode is the transfer mode between servers (pull, push or relay); on one server it is not used.
	Mode string

	// VolumeOnly copies the volume without its snapshots.
	VolumeOnly bool

	// Refresh updates an existing copy instead of failing when the target exists.
	Refresh bool
}

// StoragePoolVolumeMoveArgs are the options of MoveStoragePoolVolume.
type StoragePoolVolumeMoveArgs struct {
	StoragePoolVolumeCopyArgs

	// Project is the project to move the volume to ("": the same one).
	Project string
}

// storageVolumesPath is the API path of the volumes of one type in a pool under /1.0.
func storageVolumesPath(pool string, volType string) string {
	return storagePoolPath(pool) + "/volumes/" + url.PathEscape(volType)
}

// storageVolumePath is the API path of a storage volume under /1.0.
func storageVolumePath(pool string, volType string, name string) string {
	return storageVolumesPath(pool, volType) + "/" + url.PathEscape(name)
}

// storageVolumeSnapshotPath is the API path of a storage volume snapshot under /1.0.
func storageVolumeSnapshotPath(pool string, volType string, name string, snap string) string {
	return storageVolumePath(pool, volType, name) + "/snapshots/" + url.PathEscape(snap)
}

// GetStoragePoolVolumeNames returns the volumes of a pool as "<type>/<name>" ("custom/data", "container/c1").
func (c *ProtocolLXD) GetStoragePoolVolumeNames(pool string) ([]string, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, storagePoolPath(pool)+"/volumes", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	prefix := "/1.0" + storagePoolPath(pool) + "/volumes/"
	names := make([]string, 0, len(urls))
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		rest, ok := strings.CutPrefix(parsed.EscapedPath(), prefix)
		volType, name, found := strings.Cut(rest, "/")
		if !ok || !found || volType == "" || name == "" {
			return nil, fmt.Errorf("unexpected URL %q in response", u)
		}

		volType, err = url.PathUnescape(volType)
		if err == nil {
			name, err = url.PathUnescape(name)
		}

		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		names = append(names, volType+"/"+name)
	}

	return names, nil
}

// GetStoragePoolVolumes returns the volumes of a pool (of the connection's project), their snapshots included.
func (c *ProtocolLXD) GetStoragePoolVolumes(pool string) ([]api.StorageVolume, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, err
	}

	out := []api.StorageVolume{}
	_, err = c.queryStruct(http.MethodGet, storagePoolPath(pool)+"/volumes?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetStoragePoolVolume returns a storage volume and its ETag.
func (c *ProtocolLXD) GetStoragePoolVolume(pool string, volType string, name string) (*api.StorageVolume, string, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, "", err
	}

	out := api.StorageVolume{}
	etag, err := c.queryStruct(http.MethodGet, storageVolumePath(pool, volType, name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// GetStoragePoolVolumeState returns the usage of a storage volume.
func (c *ProtocolLXD) GetStoragePoolVolumeState(pool string, volType string, name string) (*api.StorageVolumeState, error) {
	if !c.HasExtension("storage_volume_state") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "storage_volume_state")
	}

	out := api.StorageVolumeState{}
	_, err := c.queryStruct(http.MethodGet, storageVolumePath(pool, volType, name)+"/state", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return &out, nil
}

// CreateStoragePoolVolume creates a storage volume (a custom one, or a copy when volume.Source says so) and waits
// until it exists.
func (c *ProtocolLXD) CreateStoragePoolVolume(pool string, volume api.StorageVolumesPost) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	volType := volume.Type
	if volType == "" {
		volType = "custom"
	}

	return c.queryWait(http.MethodPost, storageVolumesPath(pool, volType), volume, "")
}

// UpdateStoragePoolVolume replaces the writable fields of a storage volume; a Restore field restores the volume
// from that snapshot.
func (c *ProtocolLXD) UpdateStoragePoolVolume(pool string, volType string, name string, volume api.StorageVolumePut, etag string) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	if volume.Restore != "" && !c.HasExtension("storage_api_volume_snapshots") {
		return fmt.Errorf("the server is missing the required %q API extension", "storage_api_volume_snapshots")
	}

	return c.queryWait(http.MethodPut, storageVolumePath(pool, volType, name), volume, etag)
}

// RenameStoragePoolVolume renames a storage volume (or moves it to volume.Pool on the same server).
func (c *ProtocolLXD) RenameStoragePoolVolume(pool string, volType string, name string, volume api.StorageVolumePost) error {
	if !c.HasExtension("storage_api_volume_rename") {
		return fmt.Errorf("the server is missing the required %q API extension", "storage_api_volume_rename")
	}

	return c.queryWait(http.MethodPost, storageVolumePath(pool, volType, name), volume, "")
}

// DeleteStoragePoolVolume deletes a storage volume and its snapshots.
func (c *ProtocolLXD) DeleteStoragePoolVolume(pool string, volType string, name string) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	return c.queryWait(http.MethodDelete, storageVolumePath(pool, volType, name), nil, "")
}

// sameServer reports whether two connections reach the same server the same way.
func sameServer(a *ProtocolLXD, b InstanceServer) bool {
	infoA, errA := a.GetConnectionInfo()
	infoB, errB := b.GetConnectionInfo()
	if errA != nil || errB != nil {
		return false
	}

	return infoA.URL == infoB.URL && infoA.SocketPath == infoB.SocketPath
}

// errVolumeOtherServer refuses a volume transfer between two servers, which needs migration.
var errVolumeOtherServer = errors.New("copying storage volumes between servers is not supported")

// CopyStoragePoolVolume copies a custom volume (or one of its snapshots, volume.Name "<volume>/<snapshot>") from
// sourcePool of source, which must be this same server, into pool.
func (c *ProtocolLXD) CopyStoragePoolVolume(pool string, source InstanceServer, sourcePool string, volume api.StorageVolume, args *StoragePoolVolumeCopyArgs) (Operation, error) {
	if !c.HasExtension("storage_api_local_volume_handling") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "storage_api_local_volume_handling")
	}

	if args == nil {
		args = &StoragePoolVolumeCopyArgs{}
	}

	if args.Refresh && !c.HasExtension("custom_volume_refresh") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "custom_volume_refresh")
	}

	if !sameServer(c, source) {
		return nil, errVolumeOtherServer
	}

	name := args.Name
	if name == "" {
		name = volume.Name
	}

	req := api.StorageVolumesPost{
		StorageVolumePut: api.StorageVolumePut{Config: volume.Config, Description: volume.Description},
		Name:             name,
		Type:             volume.Type,
		ContentType:      volume.ContentType,
		Source: api.StorageVolumeSource{
			Name:       volume.Name,
			Type:       "copy",
			Pool:       sourcePool,
			VolumeOnly: args.VolumeOnly,
			Refresh:    args.Refresh,
		},
	}

	if req.Config == nil {
		req.Config = map[string]string{}
	}

	src, ok := source.(*ProtocolLXD)
	if ok && src.project != c.project {
		req.Source.Project = src.project
	}

	return c.queryMaybeOperation(http.MethodPost, storageVolumesPath(pool, volume.Type), req, "")
}

// MoveStoragePoolVolume moves a custom volume from sourcePool of source, which must be this same server, to pool
// (and to args.Name, args.Project when set).
func (c *ProtocolLXD) MoveStoragePoolVolume(pool string, source InstanceServer, sourcePool string, volume api.StorageVolume, args *StoragePoolVolumeMoveArgs) (Operation, error) {
	if !c.HasExtension("storage_api_local_volume_handling") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "storage_api_local_volume_handling")
	}

	if !sameServer(c, source) {
		return nil, errVolumeOtherServer
	}

	if args == nil {
		args = &StoragePoolVolumeMoveArgs{}
	}

	name := args.Name
	if name == "" {
		name = volume.Name
	}

	req := api.StorageVolumePost{Name: name, Pool: pool, Project: args.Project}
	src, ok := source.(*ProtocolLXD)
	if !ok {
		src = c
	}

	return src.queryMaybeOperation(http.MethodPost, storageVolumePath(sourcePool, volume.Type, volume.Name), req, "")
}

// checkVolumeSnapshots refuses the volume snapshot calls on a server without the "storage_api_volume_snapshots"
// API extension.
func (c *ProtocolLXD) checkVolumeSnapshots() error {
	if !c.HasExtension("storage_api_volume_snapshots") {
		return fmt.Errorf("the server is missing the required %q API extension", "storage_api_volume_snapshots")
	}

	return nil
}

// CreateStoragePoolVolumeSnapshot takes a snapshot of a storage volume (snapshot.Name "" lets the server name it).
func (c *ProtocolLXD) CreateStoragePoolVolumeSnapshot(pool string, volType string, name string, snapshot api.StorageVolumeSnapshotsPost) (Operation, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, err
	}

	return c.queryMaybeOperation(http.MethodPost, storageVolumePath(pool, volType, name)+"/snapshots", snapshot, "")
}

// GetStoragePoolVolumeSnapshotNames returns the names of the snapshots of a storage volume.
func (c *ProtocolLXD) GetStoragePoolVolumeSnapshotNames(pool string, volType string, name string) ([]string, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, err
	}

	var urls []string
	p := storageVolumePath(pool, volType, name) + "/snapshots"
	_, err = c.queryStruct(http.MethodGet, p, nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		rest, ok := strings.CutPrefix(parsed.EscapedPath(), "/1.0"+p+"/")
		if !ok || rest == "" || strings.Contains(rest, "/") {
			return nil, fmt.Errorf("unexpected URL %q in response", u)
		}

		snap, err := url.PathUnescape(rest)
		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		names = append(names, snap)
	}

	return names, nil
}

// GetStoragePoolVolumeSnapshots returns the snapshots of a storage volume.
func (c *ProtocolLXD) GetStoragePoolVolumeSnapshots(pool string, volType string, name string) ([]api.StorageVolumeSnapshot, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, err
	}

	out := []api.StorageVolumeSnapshot{}
	_, err = c.queryStruct(http.MethodGet, storageVolumePath(pool, volType, name)+"/snapshots?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetStoragePoolVolumeSnapshot returns a snapshot of a storage volume and its ETag.
func (c *ProtocolLXD) GetStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) (*api.StorageVolumeSnapshot, string, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, "", err
	}

	out := api.StorageVolumeSnapshot{}
	etag, err := c.queryStruct(http.MethodGet, storageVolumeSnapshotPath(pool, volType, name, snap), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateStoragePoolVolumeSnapshot replaces the writable fields of a snapshot of a storage volume.
func (c *ProtocolLXD) UpdateStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string, snapshot api.StorageVolumeSnapshotPut, etag string) error {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return err
	}

	return c.queryWait(http.MethodPut, storageVolumeSnapshotPath(pool, volType, name, snap), snapshot, etag)
}

// RenameStoragePoolVolumeSnapshot renames a snapshot of a storage volume.
func (c *ProtocolLXD) RenameStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string, snapshot api.StorageVolumeSnapshotPost) (Operation, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, err
	}

	return c.queryMaybeOperation(http.MethodPost, storageVolumeSnapshotPath(pool, volType, name, snap), snapshot, "")
}

// DeleteStoragePoolVolumeSnapshot deletes a snapshot of a storage volume.
func (c *ProtocolLXD) DeleteStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) (Operation, error) {
	err := c.checkVolumeSnapshots()
	if err != nil {
		return nil, err
	}

	return c.queryMaybeOperation(http.MethodDelete, storageVolumeSnapshotPath(pool, volType, name, snap), nil, "")
}

// RestoreStoragePoolVolumeSnapshot restores a storage volume from one of its snapshots, as the stock client does:
// a PUT of the volume carrying only the snapshot's name, guarded by the volume's ETag.
func (c *ProtocolLXD) RestoreStoragePoolVolumeSnapshot(pool string, volType string, name string, snap string) error {
	_, etag, err := c.GetStoragePoolVolume(pool, volType, name)
	if err != nil {
		return err
	}

	return c.UpdateStoragePoolVolume(pool, volType, name, api.StorageVolumePut{Restore: snap}, etag)
}
