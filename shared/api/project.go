package api

// ProjectsPost creates a project.
//
// API extension: projects
type ProjectsPost struct {
	ProjectPut `yaml:",inline"`

	// Name of the new project.
	// Example: foo
	Name string `json:"name" yaml:"name"`
}

// ProjectPost renames a project.
//
// API extension: projects
type ProjectPost struct {
	// Name is the new name.
	// Example: bar
	Name string `json:"name" yaml:"name"`
}

// ProjectPut is the writable part of a project.
//
// API extension: projects
type ProjectPut struct {
	// Config holds the project configuration keys.
	// Example: {"features.profiles": "true", "limits.containers": "10"}
	Config map[string]string `json:"config" yaml:"config"`

	// Description is free text.
	// Example: My new project
	Description string `json:"description" yaml:"description"`
}

// Project is a project as the API shows it.
//
// API extension: projects
type Project struct {
	ProjectPut `yaml:",inline"`

	// Name of the project.
	// Example: foo
	Name string `json:"name" yaml:"name"`

	// UsedBy lists the URLs of the objects the project holds.
	// Example: ["/1.0/instances/c1?project=foo", "/1.0/profiles/default?project=foo"]
	UsedBy []string `json:"used_by" yaml:"used_by"`
}

// Writable returns the writable part of a project.
func (p *Project) Writable() ProjectPut {
	return p.ProjectPut
}

// ProjectState is the resource usage of a project.
//
// API extension: project_usage
type ProjectState struct {
	// Resources maps a resource (containers, cpu, disk, instances, memory, networks, processes,
	// virtual-machines) to its limit and usage.
	// Example: {"containers": {"limit": 10, "usage": 4}}
	Resources map[string]ProjectStateResource `json:"resources" yaml:"resources"`
}

// ProjectStateResource is the limit and usage of one resource of a project. LXD 5.0.2 sends its fields
// capitalised (Limit, Usage) in JSON, and lower case in YAML.
//
// API extension: project_usage
type ProjectStateResource struct {
	// Limit is the project's limit, -1 when there is none.
	// Example: 10
	Limit int64 `json:"Limit" yaml:"limit"`

	// Usage is what the project uses.
	// Example: 4
	Usage int64 `json:"Usage" yaml:"usage"`
}
