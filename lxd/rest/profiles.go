package rest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var profilesCmd = Endpoint{
	Path: "profiles",
	Get:  Action{Handler: profilesGet, Access: allowTrusted},
	Post: Action{Handler: profilesPost, Access: allowTrusted},
}

var profileCmd = Endpoint{
	Path:   "profiles/{name}",
	Get:    Action{Handler: profileGet, Access: allowTrusted},
	Put:    Action{Handler: profilePut, Access: allowTrusted},
	Patch:  Action{Handler: profilePatch, Access: allowTrusted},
	Delete: Action{Handler: profileDelete, Access: allowTrusted},
	Post:   Action{Handler: profilePost, Access: allowTrusted},
}

// profileURL is the API path of a profile key.
func profileURL(key string) string {
	return project.ProfileURL(key)
}

// profileProject is the project whose profiles a request reaches: the request's own with features.profiles, else
// default's, as LXD resolves it.
func profileProject(s *state.State, r *http.Request) (string, error) {
	name := requestProject(r)
	if name == DefaultProject || s.Projects == nil {
		return DefaultProject, nil
	}

	config, err := s.Projects.Config(r.Context(), name)
	if err != nil {
		return "", err
	}

	if config == nil {
		return "", errs.NotFound(errProjectNotFound)
	}

	return project.FeatureProject(name, config, "profiles"), nil
}

// profileKey is the key of the profile named in the path of r.
func profileKey(s *state.State, r *http.Request) (string, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return "", err
	}

	pp, err := profileProject(s, r)
	if err != nil {
		return "", err
	}

	return project.ProfileKey(pp, name), nil
}

// profileToAPI renders a profile with the instances using it.
func profileToAPI(ctx context.Context, tx *db.Tx, p db.Profile) (api.Profile, error) {
	users, err := tx.GetProfileUsedBy(ctx, p.Name)
	if err != nil {
		return api.Profile{}, err
	}

	usedBy := make([]string, 0, len(users))
	for _, u := range users {
		usedBy = append(usedBy, instance.URL(u))
	}

	return api.Profile{
		ProfilePut: api.ProfilePut{Config: p.Config, Description: p.Description, Devices: p.Devices},
		Name:       project.ProfileName(p.Name),
		UsedBy:     usedBy,
	}, nil
}

func profilesGet(s *state.State, r *http.Request) response.Response {
	pp, err := profileProject(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var out []api.Profile
	var urls []string
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		profiles, err := tx.GetProfiles(ctx)
		if err != nil {
			return err
		}

		for _, p := range profiles {
			in, _ := project.SplitProfileKey(p.Name)
			if in != pp {
				continue
			}

			urls = append(urls, profileURL(p.Name))
			ap, err := profileToAPI(ctx, tx, p)
			if err != nil {
				return err
			}

			out = append(out, ap)
		}

		return nil
	})
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		if urls == nil {
			urls = []string{}
		}

		return response.SyncResponse(urls)
	}

	if out == nil {
		out = []api.Profile{}
	}

	return response.SyncResponse(out)
}

// validateProfile checks a profile's configuration and devices.
func validateProfile(put *api.ProfilePut) error {
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	if put.Devices == nil {
		put.Devices = map[string]map[string]string{}
	}

	err := instance.ValidateConfig(put.Config, true, false)
	if err != nil {
		return err
	}

	return instance.ValidateDevices(put.Devices)
}

func profilesPost(s *state.State, r *http.Request) response.Response {
	req := api.ProfilesPost{}
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = instance.ValidProfileName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateProfile(&req.ProfilePut)
	if err != nil {
		return response.SmartError(err)
	}

	pp, err := profileProject(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	key := project.ProfileKey(pp, req.Name)
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		err := project.CheckProfile(ctx, tx, key, req.Config, req.Devices)
		if err != nil {
			return err
		}

		_, err = tx.CreateProfile(ctx, db.Profile{
			Name: key, Description: req.Description, Config: req.Config, Devices: req.Devices,
		})
		return err
	})
	if errors.Is(err, errs.ErrConflict) {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "profile %q already exists", req.Name))
	}

	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "profile-created", profileURL(key), nil)
	return response.SyncResponseLocation(nil, profileURL(key))
}

// loadProfile reads the profile named in the path, and returns its key.
func loadProfile(s *state.State, r *http.Request) (string, *api.Profile, error) {
	key, err := profileKey(s, r)
	if err != nil {
		return "", nil, err
	}

	name := project.ProfileName(key)
	var out api.Profile
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		p, err := tx.GetProfile(ctx, key)
		if err != nil {
			return err
		}

		out, err = profileToAPI(ctx, tx, *p)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return "", nil, api.StatusErrorf(http.StatusNotFound, "profile %q not found", name)
	}

	if err != nil {
		return "", nil, err
	}

	return key, &out, nil
}

// profileETag is what a profile's ETag is computed from.
func profileETag(p *api.Profile) any {
	return []any{p.Config, p.Description, p.Devices}
}

func profileGet(s *state.State, r *http.Request) response.Response {
	_, p, err := loadProfile(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(p, profileETag(p))
}

func profilePut(s *state.State, r *http.Request) response.Response {
	return profileUpdate(s, r, false)
}

func profilePatch(s *state.State, r *http.Request) response.Response {
	return profileUpdate(s, r, true)
}

// profileUpdate replaces (PUT) or merges (PATCH) a profile. The instances using it must keep a root disk.
func profileUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	key, err := profileKey(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("profile", key)()
	_, p, err := loadProfile(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, profileETag(p))
	if resp != nil {
		return resp
	}

	put := api.ProfilePut{}
	if merge {
		put.Description = p.Description
		put.Config = maps.Clone(p.Config)
		put.Devices = map[string]map[string]string{}
		for k, v := range p.Devices {
			put.Devices[k] = maps.Clone(v)
		}
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateProfile(&put)
	if err != nil {
		return response.SmartError(err)
	}

	if p.Name == "default" || len(p.UsedBy) > 0 {
		_, _, hasRoot := instance.RootDisk(put.Devices)
		_, _, hadRoot := instance.RootDisk(p.Devices)
		if hadRoot && !hasRoot && len(p.UsedBy) > 0 {
			return response.BadRequest(fmt.Errorf("the profile is used by instances and must keep its root disk"))
		}
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		err := project.CheckProfile(ctx, tx, key, put.Config, put.Devices)
		if err != nil {
			return err
		}

		return tx.UpdateProfile(ctx, key, db.Profile{
			Description: put.Description, Config: put.Config, Devices: put.Devices,
		})
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "profile-updated", profileURL(key), nil)

	// Running instances get the profile's disk changes at once; one that cannot keeps its mounts as they were
	// until its next start, and the error says which.
	err = s.Instances.ProfileUpdated(r.Context(), instance.Profile{Name: key, Config: p.Config, Devices: p.Devices})
	if err != nil {
		return response.InternalError(fmt.Errorf("the profile was updated, but not every running instance took its devices: %w", err))
	}

	return response.EmptySyncResponse
}

func profileDelete(s *state.State, r *http.Request) response.Response {
	key, p, err := loadProfile(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if p.Name == "default" {
		return response.BadRequest(fmt.Errorf("the default profile cannot be deleted"))
	}

	if len(p.UsedBy) > 0 {
		return response.SmartError(api.StatusErrorf(http.StatusBadRequest, "profile %q is in use by %d instances", p.Name, len(p.UsedBy)))
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteProfile(ctx, key)
	})
	if errors.Is(err, errs.ErrConflict) {
		return response.BadRequest(fmt.Errorf("profile %q is in use", p.Name))
	}

	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "profile-deleted", profileURL(key), nil)
	return response.EmptySyncResponse
}

// profilePost renames a profile.
func profilePost(s *state.State, r *http.Request) response.Response {
	key, p, err := loadProfile(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.ProfilePost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if p.Name == "default" {
		return response.BadRequest(fmt.Errorf("the default profile cannot be renamed"))
	}

	err = instance.ValidProfileName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	pp, _ := project.SplitProfileKey(key)
	newKey := project.ProfileKey(pp, req.Name)
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameProfile(ctx, key, newKey)
	})
	if errors.Is(err, errs.ErrConflict) {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "profile %q already exists", req.Name))
	}

	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "profile-renamed", profileURL(newKey), map[string]any{"old_name": p.Name})
	return response.SyncResponseLocation(nil, profileURL(newKey))
}
