package client

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// instancePath is the API path of an instance under /1.0.
func instancePath(name string) string {
	return "/instances/" + url.PathEscape(name)
}

// GetInstanceNames returns the names of the instances.
func (c *ProtocolLXD) GetInstanceNames() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/instances", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/instances/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetInstances returns the instances.
func (c *ProtocolLXD) GetInstances() ([]api.Instance, error) {
	out := []api.Instance{}
	_, err := c.queryStruct(http.MethodGet, "/instances?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetInstancesFull returns the instances with their state, keeping those matching every filter ("key=value",
// applied by the server as "key eq value").
func (c *ProtocolLXD) GetInstancesFull(filters []string) ([]api.InstanceFull, error) {
	out := []api.InstanceFull{}
	v := url.Values{}
	v.Set("recursion", "2")
	v.Set("filter", filterExpr(filters))
	_, err := c.queryStruct(http.MethodGet, "/instances?"+v.Encode(), nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// filterExpr turns key=value filters into the API's filter expression.
func filterExpr(filters []string) string {
	parts := make([]string, 0, len(filters))
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}

		if strings.ContainsAny(v, " \t") {
			v = fmt.Sprintf("%q", v)
		}

		parts = append(parts, k+" eq "+v)
	}

	return strings.Join(parts, " and ")
}

// GetInstance returns an instance and its ETag.
func (c *ProtocolLXD) GetInstance(name string) (*api.Instance, string, error) {
	out := api.Instance{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// GetInstanceFull returns an instance with its state and snapshots, and its ETag.
func (c *ProtocolLXD) GetInstanceFull(name string) (*api.InstanceFull, string, error) {
	out := api.InstanceFull{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name)+"?recursion=1", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateInstance creates an instance.
func (c *ProtocolLXD) CreateInstance(req api.InstancesPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, "/instances", req, "")
	return op, err
}

// UpdateInstance replaces the writable fields of an instance.
func (c *ProtocolLXD) UpdateInstance(name string, put api.InstancePut, etag string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPut, instancePath(name), put, etag)
	return op, err
}

// RenameInstance renames an instance.
func (c *ProtocolLXD) RenameInstance(name string, post api.InstancePost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, instancePath(name), post, "")
	return op, err
}

// DeleteInstance deletes a stopped instance.
func (c *ProtocolLXD) DeleteInstance(name string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodDelete, instancePath(name), nil, "")
	return op, err
}

// GetInstanceState returns the runtime state of an instance.
func (c *ProtocolLXD) GetInstanceState(name string) (*api.InstanceState, string, error) {
	out := api.InstanceState{}
	etag, err := c.queryStruct(http.MethodGet, instancePath(name)+"/state", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateInstanceState starts, stops, restarts, freezes or unfreezes an instance.
func (c *ProtocolLXD) UpdateInstanceState(name string, state api.InstanceStatePut, etag string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPut, instancePath(name)+"/state", state, etag)
	return op, err
}
