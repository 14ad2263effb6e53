package client

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// storagePoolPath is the API path of a storage pool under /1.0.
func storagePoolPath(name string) string {
	return "/storage-pools/" + url.PathEscape(name)
}

// checkStorage refuses the storage calls on a server without the "storage" API extension.
func (c *ProtocolLXD) checkStorage() error {
	if !c.HasExtension("storage") {
		return fmt.Errorf("the server is missing the required %q API extension", "storage")
	}

	return nil
}

// GetStoragePoolNames returns the names of the storage pools.
func (c *ProtocolLXD) GetStoragePoolNames() ([]string, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, "/storage-pools", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/storage-pools/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetStoragePools returns the storage pools.
func (c *ProtocolLXD) GetStoragePools() ([]api.StoragePool, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, err
	}

	out := []api.StoragePool{}
	_, err = c.queryStruct(http.MethodGet, "/storage-pools?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetStoragePool returns a storage pool and its ETag.
func (c *ProtocolLXD) GetStoragePool(name string) (*api.StoragePool, string, error) {
	err := c.checkStorage()
	if err != nil {
		return nil, "", err
	}

	out := api.StoragePool{}
	etag, err := c.queryStruct(http.MethodGet, storagePoolPath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateStoragePool creates a storage pool.
func (c *ProtocolLXD) CreateStoragePool(pool api.StoragePoolsPost) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	return c.queryWait(http.MethodPost, "/storage-pools", pool, "")
}

// UpdateStoragePool replaces the writable fields of a storage pool.
func (c *ProtocolLXD) UpdateStoragePool(name string, pool api.StoragePoolPut, etag string) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	return c.queryWait(http.MethodPut, storagePoolPath(name), pool, etag)
}

// DeleteStoragePool deletes a storage pool.
func (c *ProtocolLXD) DeleteStoragePool(name string) error {
	err := c.checkStorage()
	if err != nil {
		return err
	}

	return c.queryWait(http.MethodDelete, storagePoolPath(name), nil, "")
}

// GetStoragePoolResources returns the space and inodes used and available in a storage pool.
func (c *ProtocolLXD) GetStoragePoolResources(name string) (*api.ResourcesStoragePool, error) {
	if !c.HasExtension("resources") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "resources")
	}

	out := api.ResourcesStoragePool{}
	_, err := c.queryStruct(http.MethodGet, storagePoolPath(name)+"/resources", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return &out, nil
}

// queryWait sends a request under /1.0 whose answer may be synchronous or an operation, and waits for the
// operation when there is one, so that the change is complete when it returns.
func (c *ProtocolLXD) queryWait(method string, p string, data any, etag string) error {
	op, err := c.queryMaybeOperation(method, p, data, etag)
	if err != nil {
		return err
	}

	return op.Wait()
}

// queryMaybeOperation sends a request under /1.0 and returns its operation; a synchronous answer is returned as an
// operation that is already over.
func (c *ProtocolLXD) queryMaybeOperation(method string, p string, data any, etag string) (Operation, error) {
	resp, _, err := c.query(method, p, data, etag)
	if err != nil {
		return nil, err
	}

	if resp.Type != api.AsyncResponse {
		return c.newOperation(api.Operation{Status: api.Success.String(), StatusCode: api.Success}), nil
	}

	var op api.Operation
	err = resp.MetadataAsStruct(&op)
	if err != nil {
		return nil, fmt.Errorf("decode operation: %w", err)
	}

	return c.newOperation(op), nil
}
