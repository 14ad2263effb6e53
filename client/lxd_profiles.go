package client

import (
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// GetProfileNames returns the names of the profiles.
func (c *ProtocolLXD) GetProfileNames() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/profiles", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		name, err := lastPathElement(u, "/1.0/profiles/")
		if err != nil {
			return nil, err
		}

		names = append(names, name)
	}

	return names, nil
}

// GetProfiles returns the profiles.
func (c *ProtocolLXD) GetProfiles() ([]api.Profile, error) {
	out := []api.Profile{}
	_, err := c.queryStruct(http.MethodGet, "/profiles?recursion=1", nil, "", &out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// GetProfile returns a profile and its ETag.
func (c *ProtocolLXD) GetProfile(name string) (*api.Profile, string, error) {
	out := api.Profile{}
	etag, err := c.queryStruct(http.MethodGet, "/profiles/"+url.PathEscape(name), nil, "", &out)
	if err != nil {
		return nil, "", err
	}

	return &out, etag, nil
}

// CreateProfile creates a profile.
func (c *ProtocolLXD) CreateProfile(profile api.ProfilesPost) error {
	_, _, err := c.query(http.MethodPost, "/profiles", profile, "")
	return err
}

// UpdateProfile replaces the writable fields of a profile.
func (c *ProtocolLXD) UpdateProfile(name string, put api.ProfilePut, etag string) error {
	_, _, err := c.query(http.MethodPut, "/profiles/"+url.PathEscape(name), put, etag)
	return err
}

// RenameProfile renames a profile.
func (c *ProtocolLXD) RenameProfile(name string, post api.ProfilePost) error {
	_, _, err := c.query(http.MethodPost, "/profiles/"+url.PathEscape(name), post, "")
	return err
}

// DeleteProfile deletes an unused profile.
func (c *ProtocolLXD) DeleteProfile(name string) error {
	_, _, err := c.query(http.MethodDelete, "/profiles/"+url.PathEscape(name), nil, "")
	return err
}
