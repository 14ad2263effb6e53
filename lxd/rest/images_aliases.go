package rest

import (
	"net/http"
	"net/url"

	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var imageAliasesCmd = Endpoint{
	Path: "images/aliases",
	Get:  Action{Handler: imageAliasesGet, Access: allowTrusted},
	Post: Action{Handler: imageAliasesPost, Access: allowTrusted},
}

// Alias names may hold slashes ("debian/12"), so the name takes the rest of the path.
var imageAliasCmd = Endpoint{
	Path:   "images/aliases/{name:.+}",
	Get:    Action{Handler: imageAliasGet, AllowUntrusted: true},
	Put:    Action{Handler: imageAliasPut, Access: allowTrusted},
	Patch:  Action{Handler: imageAliasPatch, Access: allowTrusted},
	Post:   Action{Handler: imageAliasPost, Access: allowTrusted},
	Delete: Action{Handler: imageAliasDelete, Access: allowTrusted},
}

var errAliasNotFound = api.NewStatusError(http.StatusNotFound, "image alias not found")

func imageAliasURL(name string) string {
	return "/1.0/images/aliases/" + url.PathEscape(name)
}

func imageAliasesGet(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	aliases, err := imgs.Aliases(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(aliases))
		for _, a := range aliases {
			urls = append(urls, project.WithProject(imageAliasURL(a.Name), imgs.Project()))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(aliases)
}

func imageAliasesPost(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var req api.ImageAliasesPost
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = imgs.CreateAlias(r.Context(), req)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-created", imageAliasURL(req.Name), map[string]any{"target": req.Target})
	return response.SyncResponseLocation(nil, imageAliasURL(req.Name))
}

// loadAlias finds the alias of the path; an untrusted caller sees it only when it points at a public image (or
// presents a secret for it).
func loadAlias(s *state.State, r *http.Request) (*api.ImageAliasesEntry, error) {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return nil, err
	}

	name, err := request.PathVar(r, "name")
	if err != nil {
		return nil, err
	}

	alias, img, err := imgs.Alias(r.Context(), name)
	if err != nil {
		return nil, err
	}

	if !request.GetRequestor(r).Trusted && !img.Public && !useImageSecret(s, img.Fingerprint, r.FormValue("secret")) {
		return nil, errAliasNotFound
	}

	return alias, nil
}

func imageAliasGet(s *state.State, r *http.Request) response.Response {
	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(alias, alias.Writable())
}

func imageAliasPut(s *state.State, r *http.Request) response.Response {
	return imageAliasUpdate(s, r, false)
}

func imageAliasPatch(s *state.State, r *http.Request) response.Response {
	return imageAliasUpdate(s, r, true)
}

// imageAliasUpdate replaces (PUT) or merges (PATCH) an alias's target and description.
func imageAliasUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	name, err := request.PathVar(r, "name")
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("alias", name)()
	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, alias.Writable())
	if resp != nil {
		return resp
	}

	put := api.ImageAliasesEntryPut{}
	if merge {
		put = alias.Writable()
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = imgs.UpdateAlias(r.Context(), alias.Name, put)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-updated", imageAliasURL(alias.Name), map[string]any{"target": put.Target})
	return response.EmptySyncResponse
}

func imageAliasPost(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var req api.ImageAliasesEntryPost
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = imgs.RenameAlias(r.Context(), alias.Name, req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-renamed", imageAliasURL(req.Name), map[string]any{"old_name": alias.Name})
	return response.SyncResponseLocation(nil, imageAliasURL(req.Name))
}

func imageAliasDelete(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = imgs.DeleteAlias(r.Context(), alias.Name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-deleted", imageAliasURL(alias.Name), nil)
	return response.EmptySyncResponse
}
