package db

import (
	"net/url"

	"github.com/lxd-go/lxd/shared/api"
)

// ToAPI returns the image as the API shows it, with the aliases pointing at it.
func (img *Image) ToAPI(aliases []ImageAlias) api.Image {
	out := api.Image{
		ImagePut: api.ImagePut{
			AutoUpdate: img.AutoUpdate,
			Properties: img.Properties,
			Public:     img.Public,
			ExpiresAt:  img.ExpiresAt,
			Profiles:   []string{"default"},
		},
		Aliases:      []api.ImageAlias{},
		Architecture: img.Architecture,
		Cached:       img.Cached,
		Filename:     img.Filename,
		Fingerprint:  img.Fingerprint,
		Size:         img.Size,
		Type:         img.Type,
		CreatedAt:    img.CreatedAt,
		LastUsedAt:   img.LastUsedAt,
		UploadedAt:   img.UploadedAt,
	}

	if out.Properties == nil {
		out.Properties = map[string]string{}
	}

	for _, a := range aliases {
		out.Aliases = append(out.Aliases, api.ImageAlias{Name: a.Name, Description: a.Description})
	}

	if img.Source != nil {
		out.UpdateSource = &api.ImageSource{
			Alias:       img.Source.Alias,
			Certificate: img.Source.Certificate,
			Protocol:    img.Source.Protocol,
			Server:      redactedServer(img.Source.Server),
			ImageType:   img.Source.ImageType,
		}
	}

	return out
}

// redactedServer is the URL of a source server as the API shows it: a password given in it (the credentials of a
// registry, "https://user:password@host") is replaced by "xxxxx", as anyone allowed to see the image may read it.
func redactedServer(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.User == nil {
		return server
	}

	return u.Redacted()
}

// ToAPI returns the alias as the API shows it.
func (a *ImageAlias) ToAPI() api.ImageAliasesEntry {
	return api.ImageAliasesEntry{
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Description: a.Description, Target: a.Target},
		Name:                 a.Name,
		Type:                 a.Type,
	}
}
