package client

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// checkExtension refuses a call needing an API extension the server does not announce.
func (c *ProtocolLXD) checkExtension(name string) error {
	if !c.HasExtension(name) {
		return fmt.Errorf("the server is missing the required %q API extension", name)
	}

	return nil
}

// networkPath is the API path of a network.
func networkPath(name string) string {
	return "/networks/" + url.PathEscape(name)
}

// GetNetworkNames returns the names of the networks, managed or not.
func (c *ProtocolLXD) GetNetworkNames() ([]string, error) {
	err := c.checkExtension("network")
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, "/networks", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/networks/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetNetworks returns the networks, managed or not.
func (c *ProtocolLXD) GetNetworks() ([]api.Network, error) {
	err := c.checkExtension("network")
	if err != nil {
		return nil, err
	}

	out := []api.Network{}
	_, err = c.queryStruct(http.MethodGet, "/networks?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetNetwork returns a network and its ETag.
func (c *ProtocolLXD) GetNetwork(name string) (*api.Network, string, error) {
	err := c.checkExtension("network")
	if err != nil {
		return nil, "", err
	}

	out := api.Network{}
	etag, err := c.queryStruct(http.MethodGet, networkPath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateNetwork defines and creates a managed network.
func (c *ProtocolLXD) CreateNetwork(network api.NetworksPost) error {
	err := c.checkExtension("network")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPost, "/networks", network, "")
	return err
}

// UpdateNetwork replaces the writable fields of a managed network.
func (c *ProtocolLXD) UpdateNetwork(name string, network api.NetworkPut, etag string) error {
	err := c.checkExtension("network")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPut, networkPath(name), network, etag)
	return err
}

// RenameNetwork renames a managed network.
func (c *ProtocolLXD) RenameNetwork(name string, network api.NetworkPost) error {
	err := c.checkExtension("network")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPost, networkPath(name), network, "")
	return err
}

// DeleteNetwork deletes a managed network.
func (c *ProtocolLXD) DeleteNetwork(name string) error {
	err := c.checkExtension("network")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodDelete, networkPath(name), nil, "")
	return err
}

// GetNetworkLeases returns the DHCP leases and static allocations of a managed network.
func (c *ProtocolLXD) GetNetworkLeases(name string) ([]api.NetworkLease, error) {
	err := c.checkExtension("network_leases")
	if err != nil {
		return nil, err
	}

	out := []api.NetworkLease{}
	_, err = c.queryStruct(http.MethodGet, networkPath(name)+"/leases", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetNetworkState returns the runtime state of a network interface.
func (c *ProtocolLXD) GetNetworkState(name string) (*api.NetworkState, error) {
	err := c.checkExtension("network_state")
	if err != nil {
		return nil, err
	}

	out := api.NetworkState{}
	_, err = c.queryStruct(http.MethodGet, networkPath(name)+"/state", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return &out, nil
}
