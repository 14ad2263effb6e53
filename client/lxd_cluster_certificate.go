package client

import (
	"net/http"

	"github.com/lxd-go/lxd/shared/api"
)

// UpdateClusterCertificate replaces the cluster certificate and key of the cluster the server belongs to.
func (c *ProtocolLXD) UpdateClusterCertificate(certs api.ClusterCertificatePut, etag string) error {
	err := c.checkExtension("clustering_update_cert")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPut, "/cluster/certificate", certs, etag)
	return err
}
