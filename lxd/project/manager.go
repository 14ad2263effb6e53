package project

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Default is the project that always exists.
const Default = db.DefaultProject

// ManagerArgs are what a Manager works with.
type ManagerArgs struct {
	DB *db.DB
}

// Manager owns the projects. Every check of a change runs in the transaction that makes it, so that what a
// project holds cannot change between the check and the change.
type Manager struct {
	db *db.DB
}

// NewManager returns a manager over the given database.
func NewManager(args ManagerArgs) *Manager {
	return &Manager{db: args.DB}
}

// URL is the API path of a project.
func URL(name string) string {
	return "/1.0/projects/" + url.PathEscape(name)
}

// objectURL is the API path of an object of a project: the project is named in the query unless it is default.
func objectURL(project string, segments ...string) string {
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}

	u := "/1.0/" + strings.Join(segments, "/")
	if project != Default {
		u += "?project=" + url.QueryEscape(project)
	}

	return u
}

// usedBy lists the URLs of what a project holds, as LXD fills used_by.
func usedBy(project string, c db.ProjectContent) []string {
	out := []string{}
	for _, name := range c.Instances {
		out = append(out, objectURL(project, "instances", name))
	}

	for _, name := range c.Profiles {
		out = append(out, objectURL(project, "profiles", name))
	}

	for _, fp := range c.Images {
		out = append(out, objectURL(project, "images", fp))
	}

	for _, v := range c.Volumes {
		out = append(out, objectURL(project, "storage-pools", v.Pool, "volumes", "custom", v.Name))
	}

	for _, name := range c.Networks {
		out = append(out, objectURL(project, "networks", name))
	}

	return out
}

// holdings describes what keeps a project from being empty ("" when it is empty): everything it holds but its own
// default profile.
func holdings(c db.ProjectContent) string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			parts = append(parts, what+" "+strings.Join(names, ", "))
		}
	}

	add("instances", c.Instances)
	add("profiles", slices.DeleteFunc(slices.Clone(c.Profiles), func(p string) bool { return p == "default" }))
	add("images", c.Images)
	var vols []string
	for _, v := range c.Volumes {
		vols = append(vols, v.Pool+"/"+v.Name)
	}

	add("storage volumes", vols)
	add("networks", c.Networks)
	return strings.Join(parts, "; ")
}

// toAPI builds the API form of a project.
func toAPI(p db.Project, c db.ProjectContent) api.Project {
	config := p.Config
	if config == nil {
		config = map[string]string{}
	}

	return api.Project{
		ProjectPut: api.ProjectPut{Config: config, Description: p.Description},
		Name:       p.Name,
		UsedBy:     usedBy(p.Name, c),
	}
}

// List returns every project, by name.
func (m *Manager) List(ctx context.Context) ([]api.Project, error) {
	out := []api.Project{}
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		rows, err := tx.GetProjects(ctx)
		if err != nil {
			return err
		}

		for _, p := range rows {
			c, err := tx.GetProjectContent(ctx, p.Name)
			if err != nil {
				return err
			}

			out = append(out, toAPI(p, c))
		}

		return nil
	})

	return out, err
}

// Get returns one project.
func (m *Manager) Get(ctx context.Context, name string) (*api.Project, error) {
	var out api.Project
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		p, err := tx.GetProject(ctx, name)
		if err != nil {
			return err
		}

		c, err := tx.GetProjectContent(ctx, name)
		if err != nil {
			return err
		}

		out = toAPI(*p, c)
		return nil
	})
	if err != nil {
		return nil, err
	}

	return &out, nil
}

// Exists reports whether a project exists.
func (m *Manager) Exists(ctx context.Context, name string) (bool, error) {
	found := false
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProject(ctx, name)
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}

		found = err == nil
		return err
	})

	return found, err
}

// Config returns the configuration of a project; nil when the project does not exist.
func (m *Manager) Config(ctx context.Context, name string) (map[string]string, error) {
	var config map[string]string
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		p, err := tx.GetProject(ctx, name)
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}

		if err != nil {
			return err
		}

		config = p.Config
		if config == nil {
			config = map[string]string{}
		}

		return nil
	})

	return config, err
}

// FeatureProject is the project whose objects of a kind a project reaches, for the kinds a feature gives a project
// of its own ("profiles", "storage.volumes", "networks"): its own with features.<feature>, else default's.
func FeatureProject(name string, config map[string]string, feature string) string {
	if name == Default || Feature(config, feature) {
		return name
	}

	return Default
}

// FeatureProjectOf is FeatureProject of project name as tx reads it.
func FeatureProjectOf(ctx context.Context, tx *db.Tx, name string, feature string) (string, error) {
	if name == Default {
		return Default, nil
	}

	p, err := tx.GetProject(ctx, name)
	if err != nil {
		return "", err
	}

	return FeatureProject(name, p.Config, feature), nil
}

// Create adds a project. The features LXD enables by default on a new project (images, profiles, storage
// volumes) are set unless the request sets them.
func (m *Manager) Create(ctx context.Context, req api.ProjectsPost) error {
	err := ValidateName(req.Name)
	if err != nil {
		return err
	}

	config := maps.Clone(req.Config)
	if config == nil {
		config = map[string]string{}
	}

	for _, key := range featureDefaults {
		_, ok := config[key]
		if !ok {
			config[key] = "true"
		}
	}

	err = ValidateConfig(config)
	if err != nil {
		return err
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProject(ctx, db.Project{Name: req.Name, Description: req.Description, Config: dropEmpty(config)})
		if err != nil {
			return err
		}

		return syncDefaultProfile(ctx, tx, req.Name, config)
	})
}

// syncDefaultProfile gives a project with features.profiles its own default profile, without devices, as LXD
// does, and removes it from a project without the feature.
func syncDefaultProfile(ctx context.Context, tx *db.Tx, name string, config map[string]string) error {
	key := ProfileKey(name, "default")
	_, err := tx.GetProfile(ctx, key)
	exists := err == nil
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}

	want := isTrue(config["features.profiles"])
	switch {
	case want && !exists:
		_, err = tx.CreateProfile(ctx, db.Profile{Name: key, Description: "Default LXD profile for project " + name})
		return err
	case !want && exists:
		return tx.DeleteProfile(ctx, key)
	}

	return nil
}

// dropEmpty returns a configuration without its empty values (an empty value unsets a key).
func dropEmpty(config map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if v != "" {
			out[k] = v
		}
	}

	return out
}

// Update replaces the description and configuration of a project. Features change only on an empty project other
// than default, and a limit may not be set below what the project already uses.
func (m *Manager) Update(ctx context.Context, name string, put api.ProjectPut) error {
	config := dropEmpty(put.Config)
	err := ValidateConfig(config)
	if err != nil {
		return err
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		p, err := tx.GetProject(ctx, name)
		if err != nil {
			return err
		}

		changed := changedKeys(p.Config, config)
		featuresChanged := slices.ContainsFunc(changed, func(k string) bool { return slices.Contains(Features, k) })
		if featuresChanged {
			if name == Default {
				return errs.Invalid("you can't change the features of the default project")
			}

			c, err := tx.GetProjectContent(ctx, name)
			if err != nil {
				return err
			}

			held := holdings(c)
			if held != "" {
				return errs.Invalid("features can only be changed on empty projects: project %q holds %s", name, held)
			}
		}

		err = checkLimits(ctx, tx, name, config, changed)
		if err != nil {
			return err
		}

		if slices.ContainsFunc(changed, func(k string) bool { return strings.HasPrefix(k, "restricted") }) {
			err = checkProjectRestrictions(ctx, tx, name, config)
			if err != nil {
				return err
			}
		}

		err = tx.UpdateProject(ctx, name, put.Description, config)
		if err != nil || !featuresChanged {
			return err
		}

		return syncDefaultProfile(ctx, tx, name, config)
	})
}

// Rename renames an empty project other than default.
func (m *Manager) Rename(ctx context.Context, name string, newName string) error {
	if name == Default {
		return errs.Forbidden("the 'default' project cannot be renamed")
	}

	err := ValidateName(newName)
	if err != nil {
		return err
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProject(ctx, newName)
		if err == nil {
			return errs.Conflict("a project named %q already exists", newName)
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		c, err := tx.GetProjectContent(ctx, name)
		if err != nil {
			return err
		}

		held := holdings(c)
		if held != "" {
			return errs.Invalid("only empty projects can be renamed: project %q holds %s", name, held)
		}

		err = tx.RenameProject(ctx, name, newName)
		if err != nil {
			return err
		}

		err = tx.RenameProfile(ctx, ProfileKey(name, "default"), ProfileKey(newName, "default"))
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}

		return err
	})
}

// Delete removes an empty project other than default; the refusal of a project that is not empty lists what it
// holds.
func (m *Manager) Delete(ctx context.Context, name string) error {
	if name == Default {
		return errs.Forbidden("the 'default' project cannot be deleted")
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProject(ctx, name)
		if err != nil {
			return err
		}

		c, err := tx.GetProjectContent(ctx, name)
		if err != nil {
			return err
		}

		held := holdings(c)
		if held != "" {
			return errs.Invalid("only empty projects can be removed: project %q holds %s", name, held)
		}

		err = tx.DeleteProfile(ctx, ProfileKey(name, "default"))
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		return tx.DeleteProject(ctx, name)
	})
}
