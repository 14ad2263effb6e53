package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
	"github.com/lxd-go/lxd/shared/version"
)

// errPasswordJoin refuses a join with the cluster's trust password: this server joins with join tokens only.
var errPasswordJoin = errors.New(`Failed to join cluster: joining with a trust password is not supported, use a join token from "lxc cluster add <name>"`)

// joins reports whether the cluster section asks to join an existing cluster rather than to bootstrap one. As in
// LXD, server_address and member_config alone do not: a bootstrap ignores them.
func (cl *initClusterPreseed) joins() bool {
	return cl.ClusterToken != "" || cl.ClusterAddress != "" || cl.ClusterPassword != "" ||
		cl.ClusterCertificate != "" || cl.ClusterCertificatePath != ""
}

// parseJoinToken decodes a join token (api.ParseClusterMemberJoinToken) and refuses an expired one.
func parseJoinToken(s string) (*api.ClusterMemberJoinToken, error) {
	t, err := api.ParseClusterMemberJoinToken(s)
	if err != nil {
		return nil, err
	}

	if !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt) {
		// LXD's cluster refuses it with these words when the member tries to join.
		return nil, errors.New("Token has expired")
	}

	return t, nil
}

// checkJoin checks a cluster section that joins an existing cluster and returns the join request, without changing
// anything: the token must decode and not have expired, server_name (the token's when empty) must be the token's,
// a cluster_certificate (or the file at cluster_certificate_path) must be the one the token names, and this server
// needs an address for the cluster (server_address, else the address checkCluster's bootstrap uses). The member
// to contact is cluster_address when given with the certificate, else the first of cluster_address and the token's
// addresses that answers (see findClusterMember). The trust step and the join itself are the daemon's.
func checkJoin(config *initPreseed, server *api.Server, out io.Writer) (*api.ClusterPut, error) {
	cluster := config.Cluster
	if !cluster.Enabled {
		return nil, errors.New("Failed to join cluster: enabled must be true to join an existing cluster")
	}

	if server.Environment.ServerClustered {
		return nil, errors.New("Failed to join cluster: This server is already clustered")
	}

	if cluster.ClusterToken == "" {
		if cluster.ClusterPassword != "" {
			return nil, errPasswordJoin
		}

		return nil, errors.New("Failed to join cluster: a join token (cluster_token) is required to join an existing cluster")
	}

	certPEM := cluster.ClusterCertificate
	if cluster.ClusterCertificatePath != "" {
		if certPEM != "" {
			return nil, errors.New("Failed to join cluster: cluster_certificate and cluster_certificate_path can't be used together")
		}

		data, err := os.ReadFile(cluster.ClusterCertificatePath)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("Path %s doesn't exist", cluster.ClusterCertificatePath)
		}

		if err != nil {
			return nil, err
		}

		certPEM = string(data)
	}

	token, err := parseJoinToken(cluster.ClusterToken)
	if err != nil {
		return nil, fmt.Errorf("Invalid cluster join token: %w", err)
	}

	// LXD takes the name from the token whatever server_name says; a different name is refused rather than dropped.
	name := cluster.ServerName
	if name != "" && name != token.ServerName {
		return nil, fmt.Errorf("Failed to join cluster: Server name %q does not match the join token's %q", name, token.ServerName)
	}

	if certPEM != "" {
		fingerprint, err := tlsutil.FingerprintPEM([]byte(certPEM))
		if err != nil {
			return nil, fmt.Errorf("Failed to join cluster: invalid cluster certificate: %w", err)
		}

		if fingerprint != token.Fingerprint {
			return nil, errors.New("Certificate fingerprint mismatch between join token and cluster certificate")
		}
	}

	serverAddress := cluster.ServerAddress
	if serverAddress == "" {
		serverAddress = memberAddress(config, server)
	}

	if serverAddress == "" {
		return nil, errors.New("Failed to join cluster: " + errNotOnNetwork)
	}

	clusterAddress := ""
	if cluster.ClusterAddress != "" {
		clusterAddress = canonicalAddress(cluster.ClusterAddress, httpsDefaultPort)
	}

	// A member given with its certificate needs no look-up: the daemon connects to it with that certificate pinned.
	if clusterAddress == "" || certPEM == "" {
		clusterAddress, certPEM, err = findClusterMember(token, clusterAddress, out)
		if err != nil {
			return nil, err
		}
	}

	return joinRequest(cluster, token, clusterAddress, certPEM, canonicalAddress(serverAddress, httpsDefaultPort)), nil
}

// findClusterMember finds a member of the cluster to join, as LXD does: it fetches the certificate each address
// presents (first, when given, then the token's addresses, in order), without verifying it, and takes the first
// address that answers, which must present the certificate the token names. It returns the address and the
// certificate in PEM form; an address that does not answer is reported on out and skipped.
func findClusterMember(token *api.ClusterMemberJoinToken, first string, out io.Writer) (string, string, error) {
	addresses := []string{}
	if first != "" {
		addresses = append(addresses, first)
	}

	for _, a := range token.Addresses {
		a = canonicalAddress(a, httpsDefaultPort)
		if a != first {
			addresses = append(addresses, a)
		}
	}

	for _, address := range addresses {
		cert, err := client.GetServerCertificate("https://"+address, version.UserAgent())
		if err != nil {
			_, _ = fmt.Fprintf(out, "Error connecting to existing cluster member %q: %v\n", address, err)
			continue
		}

		if tlsutil.FingerprintDER(cert.Raw) != token.Fingerprint {
			return "", "", fmt.Errorf("Certificate fingerprint mismatch between join token and cluster member %q", address)
		}

		return address, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})), nil
	}

	return "", "", errors.New("Unable to connect to any of the cluster members specified in join token")
}

// askJoin asks LXD 5.0.2's questions for joining a cluster with a join token, given or asked for next; answering
// that there is no token (LXD then joins with the cluster's trust password) is refused. The token names the
// member and the members to contact: the first that answers gives the cluster address and certificate, before
// the confirmation that the server's data is lost. LXD then asks a value for each of the cluster's member
// configuration keys ("Choose ..."); these are not asked: the daemon gives each storage pool of the joiner the
// pool's default source when member_config has none.
func askJoin(a *asker, cluster *initClusterPreseed, address string) error {
	cluster.ServerAddress = address
	var token *api.ClusterMemberJoinToken
	validToken := func(input string) error {
		t, err := parseJoinToken(input)
		if err != nil {
			return fmt.Errorf("Invalid join token: %w", err)
		}

		token = t
		return nil
	}

	answer, err := a.askString("Do you have a join token? (yes/no/[token]) [default=no]: ", "no", func(input string) error {
		switch strings.ToLower(input) {
		case "yes", "y", "no", "n":
			return nil
		}

		if validToken(input) != nil {
			return errors.New("Not yes/no, or invalid join token")
		}

		return nil
	})
	if err != nil {
		return err
	}

	switch strings.ToLower(answer) {
	case "no", "n":
		return errPasswordJoin
	case "yes", "y":
		answer, err = a.askString("Please provide join token: ", "", validToken)
		if err != nil {
			return err
		}
	}

	cluster.ServerName = token.ServerName
	cluster.ClusterToken = answer
	cluster.ClusterAddress, cluster.ClusterCertificate, err = findClusterMember(token, "", a.out)
	if err != nil {
		return err
	}

	wipe, err := a.askBool("All existing data is lost when joining a cluster, continue? (yes/no) [default=no] ", "no")
	if err != nil {
		return err
	}

	if !wipe {
		return errors.New("User aborted configuration")
	}

	return nil
}

// joinRequest is the PUT /1.0/cluster request that makes this server join the cluster: its name (the token's), the
// member configuration given, the member to contact and the cluster certificate it must present, this server's
// address for the cluster and the whole token, with which the daemon sets up the trust. A cluster_password given
// with the token is not sent: the token is what authenticates the join, as it is in LXD.
func joinRequest(cluster *initClusterPreseed, token *api.ClusterMemberJoinToken, clusterAddress string, certPEM string, serverAddress string) *api.ClusterPut {
	req := &api.ClusterPut{
		ClusterAddress:     clusterAddress,
		ClusterCertificate: certPEM,
		ServerAddress:      serverAddress,
		ClusterToken:       strings.TrimSpace(cluster.ClusterToken),
	}

	req.ServerName = token.ServerName
	req.Enabled = true
	for _, k := range cluster.MemberConfig {
		req.MemberConfig = append(req.MemberConfig, api.ClusterMemberConfigKey(k))
	}

	return req
}

// joinCluster sends the join request and waits for the daemon to join the cluster.
func joinCluster(d client.InstanceServer, req api.ClusterPut) error {
	op, err := d.UpdateCluster(req, "")
	if err != nil {
		return fmt.Errorf("Failed to join cluster: %w", err)
	}

	err = op.Wait()
	if err != nil {
		return fmt.Errorf("Failed to join cluster: %w", err)
	}

	return nil
}
