package client

import (
	"fmt"
	"net/http"

	"github.com/lxd-go/lxd/shared/api"
)

// GetServerResources returns the hardware of the server (GET /1.0/resources).
func (c *ProtocolLXD) GetServerResources() (*api.Resources, error) {
	if !c.HasExtension("resources") {
		return nil, fmt.Errorf("the server is missing the required %q API extension", "resources")
	}

	res := api.Resources{}
	_, err := c.queryStruct(http.MethodGet, "/resources", nil, "", &res)
	if err != nil {
		return nil, err
	}

	return &res, nil
}
