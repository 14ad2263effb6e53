package client

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// checkWarnings refuses the warning calls on a server without the "warnings" API extension.
func (c *ProtocolLXD) checkWarnings() error {
	if !c.HasExtension("warnings") {
		return fmt.Errorf("the server is missing the required %q API extension", "warnings")
	}

	return nil
}

// GetWarningUUIDs returns the UUIDs of the warnings.
func (c *ProtocolLXD) GetWarningUUIDs() ([]string, error) {
	err := c.checkWarnings()
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, "/warnings", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	uuids := make([]string, 0, len(urls))
	for _, u := range urls {
		uuid, err := lastPathElement(u, "/1.0/warnings/")
		if err != nil {
			return nil, err
		}

		uuids = append(uuids, uuid)
	}

	return uuids, nil
}

// GetWarnings returns the warnings (of the connection's project when it names one).
func (c *ProtocolLXD) GetWarnings() ([]api.Warning, error) {
	err := c.checkWarnings()
	if err != nil {
		return nil, err
	}

	out := []api.Warning{}
	_, err = c.queryStruct(http.MethodGet, "/warnings?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetWarning returns a warning and its ETag.
func (c *ProtocolLXD) GetWarning(uuid string) (*api.Warning, string, error) {
	err := c.checkWarnings()
	if err != nil {
		return nil, "", err
	}

	out := api.Warning{}
	etag, err := c.queryStruct(http.MethodGet, "/warnings/"+url.PathEscape(uuid), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateWarning sets the status of a warning (acknowledged or new).
func (c *ProtocolLXD) UpdateWarning(uuid string, warning api.WarningPut, etag string) error {
	err := c.checkWarnings()
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPut, "/warnings/"+url.PathEscape(uuid), warning, etag)
	return err
}

// DeleteWarning deletes a warning.
func (c *ProtocolLXD) DeleteWarning(uuid string) error {
	err := c.checkWarnings()
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodDelete, "/warnings/"+url.PathEscape(uuid), nil, "")
	return err
}
