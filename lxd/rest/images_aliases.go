package rest

import (
	"context"
	"errors"

	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
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

// validateAliasName refuses names that could not be typed back as "remote:alias".
func validateAliasName(name string) error {
	if name == "" {
		return api.NewStatusError(http.StatusBadRequest, "alias name must not be empty")
	}

	if len(name) > 255 {
		return api.NewStatusError(http.StatusBadRequest, "alias name longer than 255 characters")
	}

	if name == "." || name == ".." || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return api.StatusErrorf(http.StatusBadRequest, "invalid alias name %q", name)
	}

	for _, c := range name {
		if c == ':' || c == '\\' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return api.StatusErrorf(http.StatusBadRequest, "invalid character %q in alias name %q", c, name)
		}
	}

	return nil
}

// resolveTarget expands an alias target given as a fingerprint prefix, as the stock client sends it.
func resolveTarget(ctx context.Context, tx *db.Tx, target string) (string, error) {
	if target == "" {
		return "", api.NewStatusError(http.StatusBadRequest, "alias target must not be empty")
	}

	img, err := tx.GetImageByPrefix(ctx, target, db.ImageFilter{})
	if errors.Is(err, errs.ErrNotFound) {
		return "", api.StatusErrorf(http.StatusNotFound, "image %q not found", target)
	}

	if err != nil {
		return "", err
	}

	return img.Fingerprint, nil
}

func imageAliasesGet(s *state.State, r *http.Request) response.Response {
	var aliases []db.ImageAlias
	err := s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		var err error
		aliases, err = tx.GetImageAliases(ctx)
		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(aliases))
		for _, a := range aliases {
			urls = append(urls, imageAliasURL(a.Name))
		}

		return response.SyncResponse(urls)
	}

	out := make([]api.ImageAliasesEntry, 0, len(aliases))
	for _, a := range aliases {
		out = append(out, a.ToAPI())
	}

	return response.SyncResponse(out)
}

func imageAliasesPost(s *state.State, r *http.Request) response.Response {
	var req api.ImageAliasesPost
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateAliasName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		fp, err := resolveTarget(ctx, tx, req.Target)
		if err != nil {
			return err
		}

		_, err = tx.CreateImageAlias(ctx, db.ImageAlias{Name: req.Name, Description: req.Description, Target: fp})
		if errors.Is(err, errs.ErrConflict) {
			return api.StatusErrorf(http.StatusConflict, "alias %q already exists", req.Name)
		}

		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-created", imageAliasURL(req.Name), map[string]any{"target": req.Target})
	return response.SyncResponseLocation(nil, imageAliasURL(req.Name))
}

// loadAlias finds the alias of the path; an untrusted caller sees it only when it points at a public image.
func loadAlias(s *state.State, r *http.Request) (*api.ImageAliasesEntry, error) {
	name, err := request.PathVar(r, "name")
	if err != nil {
		return nil, err
	}

	trusted := request.GetRequestor(r).Trusted
	var alias api.ImageAliasesEntry
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		a, err := tx.GetImageAlias(ctx, name)
		if err != nil {
			return err
		}

		if !trusted {
			img, err := tx.GetImage(ctx, a.Target)
			if err != nil {
				return err
			}

			if !img.Public && !useImageSecret(s, img.Fingerprint, r.FormValue("secret")) {
				return errAliasNotFound
			}
		}

		alias = a.ToAPI()
		return nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errAliasNotFound
	}

	if err != nil {
		return nil, err
	}

	return &alias, nil
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

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		fp, err := resolveTarget(ctx, tx, put.Target)
		if err != nil {
			return err
		}

		return tx.UpdateImageAlias(ctx, alias.Name, fp, put.Description)
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-updated", imageAliasURL(alias.Name), map[string]any{"target": put.Target})
	return response.EmptySyncResponse
}

func imageAliasPost(s *state.State, r *http.Request) response.Response {
	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var req api.ImageAliasesEntryPost
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateAliasName(req.Name)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		err := tx.RenameImageAlias(ctx, alias.Name, req.Name)
		if errors.Is(err, errs.ErrConflict) {
			return api.StatusErrorf(http.StatusConflict, "alias %q already exists", req.Name)
		}

		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-renamed", imageAliasURL(req.Name), map[string]any{"old_name": alias.Name})
	return response.SyncResponseLocation(nil, imageAliasURL(req.Name))
}

func imageAliasDelete(s *state.State, r *http.Request) response.Response {
	alias, err := loadAlias(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteImageAlias(ctx, alias.Name)
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-alias-deleted", imageAliasURL(alias.Name), nil)
	return response.EmptySyncResponse
}
