package client

import (
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// clusterMemberPath is the API path of a cluster member.
func clusterMemberPath(name string) string {
	return "/cluster/members/" + url.PathEscape(name)
}

// GetCluster returns the clustering state of the server and its ETag.
func (c *ProtocolLXD) GetCluster() (*api.Cluster, string, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, "", err
	}

	out := api.Cluster{}
	etag, err := c.queryStruct(http.MethodGet, "/cluster", nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateCluster bootstraps a cluster on the server or makes it join one. As LXD's client does, the request carries
// no ETag: the server answers with an operation that ends when clustering is set up.
func (c *ProtocolLXD) UpdateCluster(cluster api.ClusterPut, etag string) (Operation, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, err
	}

	if cluster.ServerAddress != "" || cluster.ClusterPassword != "" || len(cluster.MemberConfig) > 0 {
		err = c.checkExtension("clustering_join")
		if err != nil {
			return nil, err
		}
	}

	op, _, err := c.queryOperation(http.MethodPut, "/cluster", cluster, "")
	if err != nil {
		return nil, err
	}

	return op, nil
}

// GetClusterMemberNames returns the names of the cluster members.
func (c *ProtocolLXD) GetClusterMemberNames() ([]string, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, "/cluster/members", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/cluster/members/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetClusterMembers returns the cluster members.
func (c *ProtocolLXD) GetClusterMembers() ([]api.ClusterMember, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, err
	}

	out := []api.ClusterMember{}
	_, err = c.queryStruct(http.MethodGet, "/cluster/members?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetClusterMember returns a cluster member and its ETag.
func (c *ProtocolLXD) GetClusterMember(name string) (*api.ClusterMember, string, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, "", err
	}

	out := api.ClusterMember{}
	etag, err := c.queryStruct(http.MethodGet, clusterMemberPath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// UpdateClusterMember replaces the writable fields of a cluster member.
func (c *ProtocolLXD) UpdateClusterMember(name string, member api.ClusterMemberPut, etag string) error {
	err := c.checkExtension("clustering")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPut, clusterMemberPath(name), member, etag)
	return err
}

// RenameClusterMember renames a cluster member.
func (c *ProtocolLXD) RenameClusterMember(name string, member api.ClusterMemberPost) error {
	err := c.checkExtension("clustering")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPost, clusterMemberPath(name), member, "")
	return err
}

// DeleteClusterMember removes a member from the cluster; force removes it even when it cannot leave cleanly.
func (c *ProtocolLXD) DeleteClusterMember(name string, force bool) error {
	err := c.checkExtension("clustering")
	if err != nil {
		return err
	}

	p := clusterMemberPath(name)
	if force {
		p += "?force=1"
	}

	_, _, err = c.query(http.MethodDelete, p, nil, "")
	return err
}

// CreateClusterMember asks for a join token for a new member. The token is in the metadata of the returned token
// operation (see api.Operation.ToClusterJoinToken), which stays running until the token is used or revoked.
func (c *ProtocolLXD) CreateClusterMember(member api.ClusterMembersPost) (Operation, error) {
	err := c.checkExtension("clustering")
	if err != nil {
		return nil, err
	}

	op, _, err := c.queryOperation(http.MethodPost, "/cluster/members", member, "")
	if err != nil {
		return nil, err
	}

	return op, nil
}

// UpdateClusterMemberState evacuates or restores a cluster member (POST /1.0/cluster/members/<name>/state).
func (c *ProtocolLXD) UpdateClusterMemberState(name string, state api.ClusterMemberStatePost) (Operation, error) {
	err := c.checkExtension("clustering_evacuation")
	if err != nil {
		return nil, err
	}

	op, _, err := c.queryOperation(http.MethodPost, clusterMemberPath(name)+"/state", state, "")
	return op, err
}
