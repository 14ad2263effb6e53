package client

import (
	"net/http"

	"github.com/lxd-go/lxd/shared/api"
)

// GetServer returns the server and its ETag.
func (c *ProtocolLXD) GetServer() (*api.Server, string, error) {
	server := api.Server{}
	etag, err := c.queryStruct(http.MethodGet, "", nil, "", &server)
	if err != nil {
		return nil, "", err
	}

	c.server = &server
	return &server, etag, nil
}

// UpdateServer replaces the server configuration.
func (c *ProtocolLXD) UpdateServer(server api.ServerPut, etag string) error {
	_, _, err := c.query(http.MethodPut, "", server, etag)
	return err
}

// IsTrusted reports whether the server trusts this client.
func (c *ProtocolLXD) IsTrusted() (bool, error) {
	if c.server == nil {
		_, _, err := c.GetServer()
		if err != nil {
			return false, err
		}
	}

	return c.server.Auth == "trusted", nil
}

// HasExtension reports whether the server implements an API extension.
func (c *ProtocolLXD) HasExtension(name string) bool {
	if c.server == nil {
		_, _, err := c.GetServer()
		if err != nil {
			return false
		}
	}

	for _, ext := range c.server.APIExtensions {
		if ext == name {
			return true
		}
	}

	return false
}
