package client

import (
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// InstanceBackupArgs is the download of a backup tarball: it is written to BackupFile, and ProgressHandler, when
// set, is told the bytes received so far and the total (0 when unknown).
type InstanceBackupArgs struct {
	BackupFile      io.Writer
	ProgressHandler func(done int64, total int64)
}

// InstanceBackupFileResponse describes a downloaded backup.
type InstanceBackupFileResponse struct {
	Size int64
}

// InstanceBackupImportArgs is a backup tarball to create an instance from: Name and PoolName, when set, rename the
// instance and choose its storage pool; ProgressHandler is told the bytes sent so far and the total.
type InstanceBackupImportArgs struct {
	BackupFile      io.Reader
	Name            string
	PoolName        string
	ProgressHandler func(done int64, total int64)
}

// backupPath is the API path of an instance's backup under /1.0.
func backupPath(name string, backup string) string {
	return instancePath(name) + "/backups/" + url.PathEscape(backup)
}

// GetInstanceBackupNames lists the names of an instance's backups.
func (c *ProtocolLXD) GetInstanceBackupNames(name string) ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, instancePath(name)+"/backups", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		b, err := lastPathElement(u, "/1.0"+instancePath(name)+"/backups/")
		if err != nil {
			return nil, err
		}

		names = append(names, b)
	}

	return names, nil
}

// GetInstanceBackups returns the backups of an instance.
func (c *ProtocolLXD) GetInstanceBackups(name string) ([]api.InstanceBackup, error) {
	var out []api.InstanceBackup
	_, err := c.queryStruct(http.MethodGet, instancePath(name)+"/backups?recursion=1", nil, "", &out)
	return out, err
}

// GetInstanceBackup returns one backup of an instance.
func (c *ProtocolLXD) GetInstanceBackup(name string, backup string) (*api.InstanceBackup, string, error) {
	out := api.InstanceBackup{}
	etag, err := c.queryStruct(http.MethodGet, backupPath(name, backup), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateInstanceBackup starts a backup of an instance.
func (c *ProtocolLXD) CreateInstanceBackup(name string, req api.InstanceBackupsPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, instancePath(name)+"/backups", req, "")
	return op, err
}

// RenameInstanceBackup renames a backup of an instance.
func (c *ProtocolLXD) RenameInstanceBackup(name string, backup string, req api.InstanceBackupPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, backupPath(name, backup), req, "")
	return op, err
}

// DeleteInstanceBackup deletes a backup of an instance.
func (c *ProtocolLXD) DeleteInstanceBackup(name string, backup string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodDelete, backupPath(name, backup), nil, "")
	return op, err
}

// GetInstanceBackupFile downloads the tarball of a backup into req.BackupFile.
func (c *ProtocolLXD) GetInstanceBackupFile(name string, backup string, req *InstanceBackupArgs) (*InstanceBackupFileResponse, error) {
	body, err := c.getRawResponse(backupPath(name, backup) + "/export")
	if err != nil {
		return nil, err
	}

	defer func() { _ = body.Body.Close() }()
	counter := &progressCounter{handler: req.ProgressHandler, total: max(body.ContentLength, 0)}
	n, err := io.Copy(req.BackupFile, io.TeeReader(body.Body, counter))
	if err != nil {
		return nil, fmt.Errorf("downloading backup %q: %w", backup, err)
	}

	return &InstanceBackupFileResponse{Size: n}, nil
}

// getRawResponse sends a GET under /1.0 and returns a 200 answer; any other answer is decoded as an error.
func (c *ProtocolLXD) getRawResponse(p string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, c.url("/1.0"+p), nil)
	if err != nil {
		return nil, err
	}

	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}

	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }()
		_, _, err := parseResponse(resp)
		if err == nil {
			err = fmt.Errorf("unexpected status %s", resp.Status)
		}

		return nil, err
	}

	return resp, nil
}

// CreateInstanceFromBackup creates an instance from a backup tarball (POST /1.0/instances with the tarball as an
// application/octet-stream body).
func (c *ProtocolLXD) CreateInstanceFromBackup(args InstanceBackupImportArgs) (Operation, error) {
	total := readerSize(args.BackupFile)
	counter := &progressCounter{handler: args.ProgressHandler, total: max(total, 0)}
	req, err := http.NewRequest(http.MethodPost, c.url("/1.0/instances"), io.NopCloser(io.TeeReader(args.BackupFile, counter)))
	if err != nil {
		return nil, err
	}

	if total >= 0 {
		req.ContentLength = total
	}

	req.Header.Set("Content-Type", "application/octet-stream")
	if args.Name != "" {
		req.Header.Set("X-LXD-name", args.Name)
	}

	if args.PoolName != "" {
		req.Header.Set("X-LXD-pool", args.PoolName)
	}

	resp, _, err := c.doParse(req)
	if err != nil {
		return nil, err
	}

	if resp.Type != api.AsyncResponse {
		return nil, fmt.Errorf("expected an async response to the backup upload, got %q", resp.Type)
	}

	var op api.Operation
	err = resp.MetadataAsStruct(&op)
	if err != nil {
		return nil, fmt.Errorf("decode operation: %w", err)
	}

	return c.newOperation(op), nil
}
