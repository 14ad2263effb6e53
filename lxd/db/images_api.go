package db

import (
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
			Server:      img.Source.Server,
			ImageType:   img.Source.ImageType,
		}
	}

	return out
}

// ToAPI returns the alias as the API shows it.
func (a *ImageAlias) ToAPI() api.ImageAliasesEntry {
	return api.ImageAliasesEntry{
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Description: a.Description, Target: a.Target},
		Name:                 a.Name,
		Type:                 a.Type,
	}
}
