package api

//lint:file-ignore ST1005 the join token messages are LXD's, capitalised as they are

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cluster is the clustering state of the server answering GET /1.0/cluster.
//
// API extension: clustering
type Cluster struct {
	// ServerName is the name of the cluster member answering the request.
	// Example: lxd01
	ServerName string `json:"server_name" yaml:"server_name"`

	// Enabled tells whether clustering is enabled.
	// Example: true
	Enabled bool `json:"enabled" yaml:"enabled"`

	// MemberConfig lists the configuration keys a joining member must provide.
	// Example: []
	//
	// API extension: clustering_join
	MemberConfig []ClusterMemberConfigKey `json:"member_config" yaml:"member_config"`
}

// ClusterMemberConfigKey is one configuration key a new member must provide when joining. Value is empty in
// GET /1.0/cluster and is filled by the joining member in its PUT /1.0/cluster.
//
// API extension: clustering_join
type ClusterMemberConfigKey struct {
	// Entity is the kind of object the key belongs to (network, storage-pool, ...).
	// Example: storage-pool
	Entity string `json:"entity" yaml:"entity"`

	// Name is the name of the object the key belongs to.
	// Example: local
	Name string `json:"name" yaml:"name"`

	// Key is the configuration key.
	// Example: source
	Key string `json:"key" yaml:"key"`

	// Value is the value on the joining member.
	// Example: /dev/sdb
	Value string `json:"value" yaml:"value"`

	// Description is a human readable description of the key.
	// Example: "source" property for storage pool "local"
	Description string `json:"description" yaml:"description"`
}

// ClusterPut bootstraps a cluster on a server or makes it join an existing one.
//
// API extension: clustering
type ClusterPut struct {
	Cluster `yaml:",inline"`

	// ClusterAddress is the address of the cluster to join.
	// Example: 10.0.0.1:8443
	ClusterAddress string `json:"cluster_address" yaml:"cluster_address"`

	// ClusterCertificate is the expected PEM certificate of the cluster to join.
	// Example: X509 PEM certificate
	ClusterCertificate string `json:"cluster_certificate" yaml:"cluster_certificate"`

	// ServerAddress is the local address used for cluster communication.
	// Example: 10.0.0.2:8443
	//
	// API extension: clustering_join
	ServerAddress string `json:"server_address" yaml:"server_address"`

	// ClusterPassword is the trust password or the join token of the cluster to join.
	// Example: blah
	//
	// API extension: clustering_join
	ClusterPassword string `json:"cluster_password" yaml:"cluster_password"`

	// ClusterToken is the join token of the cluster to join.
	// Example: blah
	ClusterToken string `json:"cluster_token" yaml:"cluster_token"`
}

// ClusterMembersPost asks for a join token for a new cluster member.
//
// API extension: clustering_join_token
type ClusterMembersPost struct {
	// ServerName is the name the new member will have.
	// Example: lxd02
	ServerName string `json:"server_name" yaml:"server_name"`
}

// ClusterMemberJoinToken is the decoded form of a cluster member join token.
//
// API extension: clustering_join_token
type ClusterMemberJoinToken struct {
	// ServerName is the name the new member will have.
	// Example: lxd02
	ServerName string `json:"server_name" yaml:"server_name"`

	// Fingerprint is the fingerprint of the cluster certificate.
	// Example: 57bb0ff4340b5bb28517e062023101adf788c37846dc8b619eb2c3cb4ef29436
	Fingerprint string `json:"fingerprint" yaml:"fingerprint"`

	// Addresses are the addresses of the online cluster members.
	// Example: ["10.98.30.229:8443"]
	Addresses []string `json:"addresses" yaml:"addresses"`

	// Secret is the random join secret.
	// Example: 2b2284d44db32675923fe0d2020477e0e9be11801ff70c435e032b97028c35cd
	Secret string `json:"secret" yaml:"secret"`

	// ExpiresAt is when the token stops being valid; zero means never.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`
}

// String encodes the token as it is handed to the joining member: base64 (standard, padded) of its JSON form.
func (t *ClusterMemberJoinToken) String() string {
	data, err := json.Marshal(t)
	if err != nil {
		// A struct of strings and a time always marshals.
		return ""
	}

	return base64.StdEncoding.EncodeToString(data)
}

// ParseClusterMemberJoinToken decodes a join token as handed to a joining member: base64 (standard) of its JSON
// form, which must name the member and carry the members' addresses, a secret and the cluster certificate's
// fingerprint. Expiry is the caller's to check.
func ParseClusterMemberJoinToken(s string) (*ClusterMemberJoinToken, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}

	t := &ClusterMemberJoinToken{}
	err = json.Unmarshal(data, t)
	if err != nil {
		return nil, err
	}

	switch {
	case t.ServerName == "":
		return nil, errors.New("No server name in join token")
	case len(t.Addresses) == 0:
		return nil, errors.New("No cluster member addresses in join token")
	case t.Secret == "":
		return nil, errors.New("No secret in join token")
	case t.Fingerprint == "":
		return nil, errors.New("No certificate fingerprint in join token")
	}

	return t, nil
}

// ToClusterJoinToken rebuilds the join token from a token operation created by POST /1.0/cluster/members. Its
// metadata holds serverName, secret, fingerprint, addresses and optionally expiresAt; an operation lacking any of
// the first four (an image secret or a certificate add token) is refused.
func (op *Operation) ToClusterJoinToken() (*ClusterMemberJoinToken, error) {
	if op.Class != string(OperationClassToken) {
		return nil, fmt.Errorf("operation %q is a %s operation, not a token", op.ID, op.Class)
	}

	md := op.Metadata
	t := ClusterMemberJoinToken{}
	var ok bool
	t.ServerName, ok = md["serverName"].(string)
	if !ok {
		return nil, fmt.Errorf("operation serverName is type %T not string", md["serverName"])
	}

	t.Secret, ok = md["secret"].(string)
	if !ok {
		return nil, fmt.Errorf("operation secret is type %T not string", md["secret"])
	}

	t.Fingerprint, ok = md["fingerprint"].(string)
	if !ok {
		return nil, fmt.Errorf("operation fingerprint is type %T not string", md["fingerprint"])
	}

	switch addrs := md["addresses"].(type) {
	case []string:
		t.Addresses = append([]string{}, addrs...)
	case []any:
		t.Addresses = make([]string, 0, len(addrs))
		for i, a := range addrs {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("operation address index %d is type %T not string", i, a)
			}

			t.Addresses = append(t.Addresses, s)
		}
	default:
		return nil, fmt.Errorf("operation addresses is type %T not []any", md["addresses"])
	}

	switch exp := md["expiresAt"].(type) {
	case time.Time:
		t.ExpiresAt = exp
	case string:
		if exp != "" {
			parsed, err := time.Parse(time.RFC3339Nano, exp)
			if err != nil {
				return nil, fmt.Errorf("invalid expiry %q in operation metadata: %w", exp, err)
			}

			t.ExpiresAt = parsed
		}
	}

	return &t, nil
}

// ClusterMemberPost renames a cluster member.
//
// API extension: clustering
type ClusterMemberPost struct {
	// ServerName is the new name.
	// Example: lxd02
	ServerName string `json:"server_name" yaml:"server_name"`
}

// ClusterMemberPut is the writable part of a cluster member.
//
// API extension: clustering_edit_roles
type ClusterMemberPut struct {
	// Roles lists the roles the member holds.
	// Example: ["database"]
	//
	// API extension: clustering_roles
	Roles []string `json:"roles" yaml:"roles"`

	// FailureDomain is the name of the member's failure domain.
	// Example: rack1
	//
	// API extension: clustering_failure_domains
	FailureDomain string `json:"failure_domain" yaml:"failure_domain"`

	// Description is free text.
	// Example: AMD Epyc 32c/64t
	//
	// API extension: clustering_description
	Description string `json:"description" yaml:"description"`

	// Config holds the member's configuration keys.
	// Example: {"scheduler.instance": "all"}
	//
	// API extension: clustering_config
	Config map[string]string `json:"config" yaml:"config"`

	// Groups lists the cluster groups the member belongs to.
	// Example: ["group1", "group2"]
	//
	// API extension: clustering_groups
	Groups []string `json:"groups" yaml:"groups"`
}

// ClusterMember is a member of the cluster as the API shows it.
//
// API extension: clustering
type ClusterMember struct {
	ClusterMemberPut `yaml:",inline"`

	// ServerName is the member's name.
	// Read only: true
	// Example: lxd01
	ServerName string `json:"server_name" yaml:"server_name"`

	// URL is where the member is reached.
	// Read only: true
	// Example: https://10.0.0.1:8443
	URL string `json:"url" yaml:"url"`

	// Database tells whether the member is a database node.
	// Read only: true
	// Example: true
	Database bool `json:"database" yaml:"database"`

	// Status is the member's status (Online, Offline, Evacuated, ...).
	// Read only: true
	// Example: Online
	Status string `json:"status" yaml:"status"`

	// Message is additional status information.
	// Read only: true
	// Example: Fully operational
	Message string `json:"message" yaml:"message"`

	// Architecture is the member's primary architecture.
	// Read only: true
	// Example: x86_64
	//
	// API extension: clustering_architecture
	Architecture string `json:"architecture" yaml:"architecture"`
}

// Writable returns the writable part of the cluster member.
func (member *ClusterMember) Writable() ClusterMemberPut {
	return member.ClusterMemberPut
}

// ClusterCertificatePut replaces the certificate and key shared by all the cluster members.
//
// API extension: clustering_update_cert
type ClusterCertificatePut struct {
	// ClusterCertificate is the new PEM certificate.
	// Example: X509 PEM certificate
	ClusterCertificate string `json:"cluster_certificate" yaml:"cluster_certificate"`

	// ClusterCertificateKey is the new PEM key.
	// Example: X509 PEM certificate key
	ClusterCertificateKey string `json:"cluster_certificate_key" yaml:"cluster_certificate_key"`
}

// ClusterMemberStatePost evacuates or restores a cluster member.
//
// API extension: clustering_evacuation
type ClusterMemberStatePost struct {
	// Action is evacuate or restore.
	// Example: evacuate
	Action string `json:"action" yaml:"action"`

	// Mode overrides the configured evacuation mode.
	// Example: stop
	//
	// API extension: clustering_evacuation_mode
	Mode string `json:"mode" yaml:"mode"`
}
