package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// UserAgent is sent with every request of the CLI.
var UserAgent = "lxc"

// localSocket returns the unix socket of the local daemon for an addr of the form unix://[path].
func localSocket(addr string) string {
	path := strings.TrimPrefix(addr, "unix://")
	if path != "" {
		return path
	}

	dir := os.Getenv("LXD_DIR")
	if dir == "" {
		dir = "/var/lib/lxd"
	}

	return filepath.Join(dir, "unix.socket")
}

// ConnectionArgs returns the arguments to connect to an HTTPS remote, generating the client key pair on first use.
func (c *Config) ConnectionArgs(remote string) (*client.ConnectionArgs, error) {
	_, err := tlsutil.LoadOrGenerate(c.ClientCertPath(), c.ClientKeyPath(), true)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}

	certPEM, err := os.ReadFile(c.ClientCertPath())
	if err != nil {
		return nil, err
	}

	keyPEM, err := os.ReadFile(c.ClientKeyPath())
	if err != nil {
		return nil, err
	}

	args := &client.ConnectionArgs{
		TLSClientCert: string(certPEM),
		TLSClientKey:  string(keyPEM),
		UserAgent:     UserAgent,
	}

	serverPEM, err := os.ReadFile(c.ServerCertPath(remote))
	if err == nil {
		args.TLSServerCert = string(serverPEM)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	return args, nil
}

// ProjectOf is the project the requests to a remote name: the override of lxc --project, else the remote's own,
// default when neither names one.
func (c *Config) ProjectOf(name string) string {
	if c.ProjectOverride != "" {
		return c.ProjectOverride
	}

	remote, ok := c.Remotes[name]
	if !ok || remote.Project == "" {
		return "default"
	}

	return remote.Project
}

// GetInstanceServer connects to a remote speaking the full API; its requests name the remote's project, or the
// override of lxc --project.
func (c *Config) GetInstanceServer(name string) (client.InstanceServer, error) {
	remote, ok := c.Remotes[name]
	if !ok {
		return nil, fmt.Errorf("remote %s doesn't exist", name)
	}

	if remote.Protocol == ProtocolSimpleStreams || remote.Protocol == ProtocolOCI {
		return nil, fmt.Errorf("remote %s is a %s image server, not an instance server", name, remote.Protocol)
	}

	project := remote.Project
	if c.ProjectOverride != "" {
		project = c.ProjectOverride
	}

	if strings.HasPrefix(remote.Addr, "unix:") {
		d, err := client.ConnectLXDUnix(localSocket(remote.Addr), &client.ConnectionArgs{UserAgent: UserAgent})
		if err != nil {
			return nil, err
		}

		return d.UseProject(project), nil
	}

	args, err := c.ConnectionArgs(name)
	if err != nil {
		return nil, err
	}

	d, err := client.ConnectLXD(remote.Addr, args)
	if err != nil {
		return nil, err
	}

	return d.UseProject(project), nil
}

// GetImageServer connects to a remote to read images from: a simplestreams server (its certificate pinned from
// servercerts/ when there), or a full API server.
func (c *Config) GetImageServer(name string) (client.ImageServer, error) {
	remote, ok := c.Remotes[name]
	if !ok {
		return nil, fmt.Errorf("remote %s doesn't exist", name)
	}

	if remote.Protocol == ProtocolOCI {
		return client.ConnectOCI(remote.Addr, &client.ConnectionArgs{UserAgent: UserAgent})
	}

	if remote.Protocol != ProtocolSimpleStreams {
		return c.GetInstanceServer(name)
	}

	args := &client.ConnectionArgs{UserAgent: UserAgent}
	pem, err := os.ReadFile(c.ServerCertPath(name))
	if err == nil {
		args.TLSServerCert = string(pem)
	}

	return client.ConnectSimpleStreams(remote.Addr, args)
}
