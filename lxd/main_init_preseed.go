package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"gopkg.in/yaml.v2"

	"github.com/lxd-go/lxd/client"
)

// The preseed document of "lxd init", with LXD 5.0.2's keys in its order. The types are this command's own, so that
// the document keeps its shape whatever the API types gain; yaml.v2 reads and writes it as LXD 5.0.2 does, so that
// --dump prints the same bytes and a bad document gets the same errors.

// initPreseed is the whole document.
type initPreseed struct {
	Node    initLocalPreseed    `yaml:",inline"`
	Cluster *initClusterPreseed `yaml:"cluster"`
}

// initLocalPreseed is the configuration of this server.
type initLocalPreseed struct {
	Config       map[string]any    `yaml:"config"`
	Networks     []initNetwork     `yaml:"networks"`
	StoragePools []initStoragePool `yaml:"storage_pools"`
	Profiles     []initProfile     `yaml:"profiles"`
	Projects     []initProject     `yaml:"projects"`
}

// initNetwork is a network to create or update, in a project (the default one when empty).
type initNetwork struct {
	Config      map[string]string `yaml:"config"`
	Description string            `yaml:"description"`
	Name        string            `yaml:"name"`
	Type        string            `yaml:"type"`
	Project     string            `yaml:"project"`
}

// initStoragePool is a storage pool to create or update.
type initStoragePool struct {
	Config      map[string]string `yaml:"config"`
	Description string            `yaml:"description"`
	Name        string            `yaml:"name"`
	Driver      string            `yaml:"driver"`
}

// initProfile is a profile to create or update.
type initProfile struct {
	Config      map[string]string            `yaml:"config"`
	Description string                       `yaml:"description"`
	Devices     map[string]map[string]string `yaml:"devices"`
	Name        string                       `yaml:"name"`
}

// initProject is a project to create or update.
type initProject struct {
	Config      map[string]string `yaml:"config"`
	Description string            `yaml:"description"`
	Name        string            `yaml:"name"`
}

// initClusterPreseed is the cluster section: it bootstraps a new cluster or joins an existing one with a join token
// (see checkCluster).
type initClusterPreseed struct {
	ServerName             string                       `yaml:"server_name"`
	Enabled                bool                         `yaml:"enabled"`
	MemberConfig           []initClusterMemberConfigKey `yaml:"member_config"`
	ClusterAddress         string                       `yaml:"cluster_address"`
	ClusterCertificate     string                       `yaml:"cluster_certificate"`
	ServerAddress          string                       `yaml:"server_address"`
	ClusterPassword        string                       `yaml:"cluster_password"`
	ClusterCertificatePath string                       `yaml:"cluster_certificate_path"`
	ClusterToken           string                       `yaml:"cluster_token"`
}

// initClusterMemberConfigKey is a member configuration key of the cluster section.
type initClusterMemberConfigKey struct {
	Entity      string `yaml:"entity"`
	Name        string `yaml:"name"`
	Key         string `yaml:"key"`
	Value       string `yaml:"value"`
	Description string `yaml:"description"`
}

// initProjectAPI is a project as GET /1.0/projects shows it (the fields the document needs).
type initProjectAPI struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
}

// yamlTypeNames gives the decoder's errors the type names LXD's show.
var yamlTypeNames = strings.NewReplacer(
	"main.initPreseed", "api.InitPreseed",
	"main.initLocalPreseed", "api.InitLocalPreseed",
	"main.initNetwork", "api.InitNetworksProjectPost",
	"main.initStoragePool", "api.StoragePoolsPost",
	"main.initProfile", "api.ProfilesPost",
	"main.initProject", "api.ProjectsPost",
	"main.initClusterPreseed", "api.InitClusterPreseed",
	"main.initClusterMemberConfigKey", "api.ClusterMemberConfigKey",
)

// parsePreseed decodes a preseed document strictly: unknown keys, keys given twice and values of the wrong kind are
// refused.
func parsePreseed(data []byte) (*initPreseed, error) {
	config := &initPreseed{}
	err := yaml.UnmarshalStrict(data, config)
	if err != nil {
		return nil, fmt.Errorf("Failed to parse the preseed: %s", yamlTypeNames.Replace(err.Error()))
	}

	return config, nil
}

// runPreseed reads the document from standard input.
func (c *cmdInit) runPreseed() (*initPreseed, error) {
	data, err := io.ReadAll(c.stdin)
	if err != nil {
		return nil, fmt.Errorf("Failed to read from stdin: %w", err)
	}

	return parsePreseed(data)
}

// renderPreseed prints a document as LXD does: yaml.v2 followed by an empty line.
func renderPreseed(w io.Writer, v any) error {
	out, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("Failed to render the config: %w", err)
	}

	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// dumpPreseed reads the server's configuration as a document: its configuration, its managed networks (in the
// default project), its storage pools, profiles and projects.
func dumpPreseed(d client.InstanceServer) (*initLocalPreseed, error) {
	server, _, err := d.GetServer()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve current server configuration: %w", err)
	}

	config := &initLocalPreseed{Config: server.Config}

	networks, err := d.GetNetworks()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve current server network configuration: %w", err)
	}

	for _, n := range networks {
		if !n.Managed {
			continue
		}

		config.Networks = append(config.Networks, initNetwork{
			Config: n.Config, Description: n.Description, Name: n.Name, Type: n.Type, Project: "default",
		})
	}

	pools, err := d.GetStoragePools()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve current server storage pool configuration: %w", err)
	}

	for _, p := range pools {
		config.StoragePools = append(config.StoragePools, initStoragePool{
			Config: p.Config, Description: p.Description, Name: p.Name, Driver: p.Driver,
		})
	}

	profiles, err := d.GetProfiles()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve current server profile configuration: %w", err)
	}

	for _, p := range profiles {
		config.Profiles = append(config.Profiles, initProfile{
			Config: p.Config, Description: p.Description, Devices: p.Devices, Name: p.Name,
		})
	}

	// A server without the projects API has no project to list.
	if !d.HasExtension("projects") {
		return config, nil
	}

	projects, err := getProjects(d)
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve current server project configuration: %w", err)
	}

	for _, p := range projects {
		config.Projects = append(config.Projects, initProject(p))
	}

	return config, nil
}

// runDump prints the server's configuration as a preseed document.
func (c *cmdInit) runDump(d client.InstanceServer) error {
	config, err := dumpPreseed(d)
	if err != nil {
		return err
	}

	return renderPreseed(c.stdout, config)
}

// The client library has no project calls: projects go through raw queries of /1.0/projects.

// getProjects lists the projects with their configuration.
func getProjects(d client.InstanceServer) ([]initProjectAPI, error) {
	resp, _, err := d.RawQuery(http.MethodGet, "/1.0/projects?recursion=1", nil, "")
	if err != nil {
		return nil, err
	}

	projects := []initProjectAPI{}
	err = json.Unmarshal(resp.Metadata, &projects)
	if err != nil {
		return nil, fmt.Errorf("decoding the projects: %w", err)
	}

	return projects, nil
}

// getProject returns a project and its ETag.
func getProject(d client.InstanceServer, name string) (*initProjectAPI, string, error) {
	resp, etag, err := d.RawQuery(http.MethodGet, "/1.0/projects/"+url.PathEscape(name), nil, "")
	if err != nil {
		return nil, "", err
	}

	project := &initProjectAPI{}
	err = json.Unmarshal(resp.Metadata, project)
	if err != nil {
		return nil, "", fmt.Errorf("decoding the project: %w", err)
	}

	return project, etag, nil
}

// createProject creates a project.
func createProject(d client.InstanceServer, p initProject) error {
	_, _, err := d.RawQuery(http.MethodPost, "/1.0/projects", map[string]any{
		"name": p.Name, "description": p.Description, "config": p.Config,
	}, "")
	return err
}

// updateProject replaces the writable fields of a project.
func updateProject(d client.InstanceServer, name string, config map[string]string, description string, etag string) error {
	_, _, err := d.RawQuery(http.MethodPut, "/1.0/projects/"+url.PathEscape(name), map[string]any{
		"description": description, "config": config,
	}, etag)
	return err
}

// deleteProject deletes a project.
func deleteProject(d client.InstanceServer, name string) error {
	_, _, err := d.RawQuery(http.MethodDelete, "/1.0/projects/"+url.PathEscape(name), nil, "")
	return err
}
