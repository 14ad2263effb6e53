package db

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
)

// DefaultProject is the project that always exists and holds every instance, image, profile, network and
// storage volume.
const DefaultProject = "default"

// Project is a project row with its configuration.
type Project struct {
	ID          int64
	Name        string
	Description string
	Config      map[string]string
}

// ProjectContent lists what a project holds, each list sorted.
type ProjectContent struct {
	Instances []string
	Profiles  []string

	// Images are fingerprints.
	Images   []string
	Networks []string

	// Volumes are the custom storage volumes.
	Volumes []PoolVolume
}

// PoolVolume names a storage volume in its pool.
type PoolVolume struct {
	Pool string
	Name string
}

// projectNotFound is the error for an unknown project, as LXD words it (without the name).
func projectNotFound() error {
	return errs.NotFound("project not found")
}

// GetProjects returns every project, by name.
func (t *Tx) GetProjects(ctx context.Context) ([]Project, error) {
	return t.scanProjects(ctx, "1")
}

// GetProject returns one project.
func (t *Tx) GetProject(ctx context.Context, name string) (*Project, error) {
	out, err := t.scanProjects(ctx, "name = ?", name)
	if err != nil {
		return nil, err
	}

	if len(out) == 0 {
		return nil, projectNotFound()
	}

	return &out[0], nil
}

func (t *Tx) scanProjects(ctx context.Context, where string, args ...any) ([]Project, error) {
	rows, err := t.query(ctx, "SELECT id, name, description FROM projects WHERE "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("loading projects: %w", err)
	}

	defer func() { _ = rows.Close() }()

	var out []Project
	for rows.Next() {
		p := Project{}
		err = rows.Scan(&p.ID, &p.Name, &p.Description)
		if err != nil {
			return nil, fmt.Errorf("loading projects: %w", err)
		}

		out = append(out, p)
	}

	err = rows.Err()
	if err != nil {
		return nil, fmt.Errorf("loading projects: %w", mapError(err))
	}

	_ = rows.Close()
	for i := range out {
		out[i].Config, err = t.loadConfig(ctx, "projects_config", "project_id", out[i].ID)
		if err != nil {
			return nil, err
		}
	}

	return out, nil
}

// CreateProject adds a project; an existing name wraps errs.ErrConflict.
func (t *Tx) CreateProject(ctx context.Context, p Project) (int64, error) {
	res, err := t.exec(ctx, "INSERT INTO projects (name, description) VALUES (?, ?)", p.Name, p.Description)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, errs.Conflict("project %q already exists", p.Name)
		}

		return 0, fmt.Errorf("creating project %q: %w", p.Name, err)
	}

	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}

	err = t.replaceConfig(ctx, "projects_config", "project_id", id, p.Config)
	if err != nil {
		return 0, err
	}

	return id, nil
}

// UpdateProject replaces the description and configuration of a project.
func (t *Tx) UpdateProject(ctx context.Context, name string, description string, config map[string]string) error {
	id, err := t.lookupID(ctx, projectNotFound(), "SELECT id FROM projects WHERE name = ?", name)
	if err != nil {
		return err
	}

	_, err = t.exec(ctx, "UPDATE projects SET description = ? WHERE id = ?", description, id)
	if err != nil {
		return fmt.Errorf("updating project %q: %w", name, err)
	}

	return t.replaceConfig(ctx, "projects_config", "project_id", id, config)
}

// RenameProject renames a project, and the certificates restricted to it follow.
func (t *Tx) RenameProject(ctx context.Context, name string, newName string) error {
	n, err := t.execCount(ctx, "UPDATE projects SET name = ? WHERE name = ?", newName, name)
	if err != nil {
		if isUniqueViolation(err) {
			return errs.Conflict("a project named %q already exists", newName)
		}

		return fmt.Errorf("renaming project %q: %w", name, err)
	}

	if n == 0 {
		return projectNotFound()
	}

	_, err = t.exec(ctx, "UPDATE OR REPLACE certificates_projects SET project = ? WHERE project = ?", newName, name)
	if err != nil {
		return fmt.Errorf("renaming project %q in certificates: %w", name, err)
	}

	return nil
}

// DeleteProject removes a project, its configuration and the restrictions of certificates to it.
func (t *Tx) DeleteProject(ctx context.Context, name string) error {
	n, err := t.execCount(ctx, "DELETE FROM projects WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("deleting project %q: %w", name, err)
	}

	if n == 0 {
		return projectNotFound()
	}

	_, err = t.exec(ctx, "DELETE FROM certificates_projects WHERE project = ?", name)
	if err != nil {
		return fmt.Errorf("deleting project %q from certificates: %w", name, err)
	}

	return nil
}

// GetProjectContent lists what a project holds, by the names the API shows. Instances and profiles of a project
// other than default are keyed "<project>_<name>" and "<project>/<name>" (see lxd/project), images and custom
// storage volumes carry their project; networks all belong to the default project.
func (t *Tx) GetProjectContent(ctx context.Context, name string) (ProjectContent, error) {
	out := ProjectContent{}
	lists := []struct {
		dest  *[]string
		query string
		args  []any
	}{
		{&out.Instances, "SELECT substr(name, ?1) FROM instances WHERE substr(name, 1, ?1 - 1) = ?2 ORDER BY name",
			[]any{len(name) + 2, name + "_"}},
		{&out.Profiles, "SELECT substr(name, ?1) FROM profiles WHERE substr(name, 1, ?1 - 1) = ?2 ORDER BY name",
			[]any{len(name) + 2, name + "/"}},
		{&out.Images, "SELECT fingerprint FROM images WHERE project = ? ORDER BY fingerprint", []any{name}},
	}

	if name == DefaultProject {
		lists = []struct {
			dest  *[]string
			query string
			args  []any
		}{
			{&out.Instances, "SELECT name FROM instances WHERE instr(name, '_') = 0 ORDER BY name", nil},
			{&out.Profiles, "SELECT name FROM profiles WHERE instr(name, '/') = 0 ORDER BY name", nil},
			{&out.Images, "SELECT fingerprint FROM images WHERE project = 'default' ORDER BY fingerprint", nil},
			{&out.Networks, "SELECT name FROM networks ORDER BY name", nil},
		}
	}

	for _, l := range lists {
		rows, err := t.query(ctx, l.query, l.args...)
		if err != nil {
			return out, fmt.Errorf("listing the content of project %q: %w", name, err)
		}

		*l.dest, err = scanStrings(rows)
		if err != nil {
			return out, fmt.Errorf("listing the content of project %q: %w", name, err)
		}
	}

	rows, err := t.query(ctx, `SELECT storage_pools.name, storage_volumes.name FROM storage_volumes
JOIN storage_pools ON storage_pools.id = storage_volumes.storage_pool_id
WHERE storage_volumes.type = 'custom' AND storage_volumes.project = ? ORDER BY storage_pools.name, storage_volumes.name`, name)
	if err != nil {
		return out, fmt.Errorf("listing the volumes of project %q: %w", name, err)
	}

	defer func() { _ = rows.Close() }()
	for rows.Next() {
		v := PoolVolume{}
		err = rows.Scan(&v.Pool, &v.Name)
		if err != nil {
			return out, fmt.Errorf("listing the volumes of project %q: %w", name, err)
		}

		out.Volumes = append(out.Volumes, v)
	}

	return out, mapError(rows.Err())
}
