package client

import (
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// projectPath is the API path of a project.
func projectPath(name string) string {
	return "/projects/" + url.PathEscape(name)
}

// GetProjectNames returns the names of the projects.
func (c *ProtocolLXD) GetProjectNames() ([]string, error) {
	err := c.checkExtension("projects")
	if err != nil {
		return nil, err
	}

	var urls []string
	_, err = c.queryStruct(http.MethodGet, "/projects", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/projects/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetProjects returns the projects.
func (c *ProtocolLXD) GetProjects() ([]api.Project, error) {
	err := c.checkExtension("projects")
	if err != nil {
		return nil, err
	}

	out := []api.Project{}
	_, err = c.queryStruct(http.MethodGet, "/projects?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetProject returns a project and its ETag.
func (c *ProtocolLXD) GetProject(name string) (*api.Project, string, error) {
	err := c.checkExtension("projects")
	if err != nil {
		return nil, "", err
	}

	out := api.Project{}
	etag, err := c.queryStruct(http.MethodGet, projectPath(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// GetProjectState returns the limits and usage of a project's resources.
func (c *ProtocolLXD) GetProjectState(name string) (*api.ProjectState, error) {
	err := c.checkExtension("project_usage")
	if err != nil {
		return nil, err
	}

	out := api.ProjectState{}
	_, err = c.queryStruct(http.MethodGet, projectPath(name)+"/state", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return &out, nil
}

// CreateProject creates a project.
func (c *ProtocolLXD) CreateProject(project api.ProjectsPost) error {
	err := c.checkExtension("projects")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPost, "/projects", project, "")
	return err
}

// UpdateProject replaces the writable fields of a project.
func (c *ProtocolLXD) UpdateProject(name string, project api.ProjectPut, etag string) error {
	err := c.checkExtension("projects")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodPut, projectPath(name), project, etag)
	return err
}

// RenameProject renames a project; the rename is an operation.
func (c *ProtocolLXD) RenameProject(name string, project api.ProjectPost) (Operation, error) {
	err := c.checkExtension("projects")
	if err != nil {
		return nil, err
	}

	op, _, err := c.queryOperation(http.MethodPost, projectPath(name), project, "")
	return op, err
}

// DeleteProject deletes a project.
func (c *ProtocolLXD) DeleteProject(name string) error {
	err := c.checkExtension("projects")
	if err != nil {
		return err
	}

	_, _, err = c.query(http.MethodDelete, projectPath(name), nil, "")
	return err
}
