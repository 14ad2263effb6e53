package rest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strconv"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/filter"
	"github.com/lxd-go/lxd/lxd/imagecache"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var imagesCmd = Endpoint{
	Path: "images",
	Get:  Action{Handler: imagesGet, AllowUntrusted: true},
	Post: Action{Handler: imagesPost, AllowUntrusted: true},
}

var imageCmd = Endpoint{
	Path:   "images/{fingerprint}",
	Get:    Action{Handler: imageGet, AllowUntrusted: true},
	Put:    Action{Handler: imagePut, Access: allowTrusted},
	Patch:  Action{Handler: imagePatch, Access: allowTrusted},
	Delete: Action{Handler: imageDelete, Access: allowTrusted},
}

var errImageNotFound = api.NewStatusError(http.StatusNotFound, "image not found")

// imageURL is the API path of an image.
func imageURL(fp string) string {
	return "/1.0/images/" + fp
}

// imageETag is what an image's ETag is computed from, as LXD does: its writable state.
func imageETag(img *api.Image) any {
	return []any{img.Public, img.AutoUpdate, img.Properties}
}

// imagesToAPI renders images with their aliases, reading all aliases at once.
func imagesToAPI(ctx context.Context, tx *db.Tx, imgs []db.Image) ([]api.Image, error) {
	aliases, err := tx.GetImageAliases(ctx)
	if err != nil {
		return nil, err
	}

	byTarget := map[string][]db.ImageAlias{}
	for _, a := range aliases {
		byTarget[a.Target] = append(byTarget[a.Target], a)
	}

	out := make([]api.Image, 0, len(imgs))
	for i := range imgs {
		out = append(out, imgs[i].ToAPI(byTarget[imgs[i].Fingerprint]))
	}

	return out, nil
}

func imagesGet(s *state.State, r *http.Request) response.Response {
	expr, err := filter.Parse(r.FormValue("filter"))
	if err != nil {
		return response.SmartError(err)
	}

	f := db.ImageFilter{}
	if !request.GetRequestor(r).Trusted {
		public := true
		f.Public = &public
	}

	var out []api.Image
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, f)
		if err != nil {
			return err
		}

		out, err = imagesToAPI(ctx, tx, imgs)
		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	out, err = filter.Objects(out, expr)
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(out))
		for _, img := range out {
			urls = append(urls, imageURL(img.Fingerprint))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(out)
}

// loadImage finds the image named by the path's fingerprint (a unique prefix is enough). An untrusted caller sees
// a private image only with a valid secret for it; otherwise it is not found, without telling it exists.
func loadImage(s *state.State, r *http.Request) (*api.Image, error) {
	prefix, err := request.PathVar(r, "fingerprint")
	if err != nil {
		return nil, err
	}

	trusted := request.GetRequestor(r).Trusted
	var img api.Image
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		found, err := tx.GetImageByPrefix(ctx, prefix, db.ImageFilter{})
		if err != nil {
			return err
		}

		aliases, err := tx.GetImageAliasesForImage(ctx, found.Fingerprint)
		if err != nil {
			return err
		}

		img = found.ToAPI(aliases)
		return nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errImageNotFound
	}

	if err != nil {
		if !trusted {
			// An ambiguous prefix would reveal that private images exist.
			return nil, errImageNotFound
		}

		return nil, err
	}

	if !trusted && !img.Public && !useImageSecret(s, img.Fingerprint, r.FormValue("secret")) {
		return nil, errImageNotFound
	}

	return &img, nil
}

func imageGet(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(img, imageETag(img))
}

func imagePut(s *state.State, r *http.Request) response.Response {
	return imageUpdate(s, r, false)
}

func imagePatch(s *state.State, r *http.Request) response.Response {
	return imageUpdate(s, r, true)
}

// imageUpdate replaces (PUT) or merges (PATCH, properties merged key by key) the writable fields of an image.
func imageUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var body json.RawMessage
	err = request.DecodeJSON(r, &body)
	if err != nil {
		return response.SmartError(err)
	}

	// The ETag check, the merge and the write are one transaction: two updates made from the same state cannot
	// both succeed and lose one another's changes.
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		found, err := tx.GetImage(ctx, img.Fingerprint)
		if err != nil {
			return err
		}

		current := found.ToAPI(nil)
		err = matchETag(r, imageETag(&current))
		if err != nil {
			return err
		}

		put := api.ImagePut{}
		if merge {
			put = current.Writable()
			put.Properties = maps.Clone(current.Properties)
		}

		err = json.Unmarshal(body, &put)
		if err != nil {
			return api.StatusErrorf(http.StatusBadRequest, "invalid JSON in request body: %v", err)
		}

		for _, p := range put.Profiles {
			if p != "default" {
				return api.StatusErrorf(http.StatusBadRequest, "profile %q not found", p)
			}
		}

		return tx.UpdateImage(ctx, img.Fingerprint, db.ImageUpdate{
			Public:     put.Public,
			AutoUpdate: put.AutoUpdate,
			ExpiresAt:  put.ExpiresAt,
			Properties: put.Properties,
		})
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-updated", imageURL(img.Fingerprint), nil)
	return response.EmptySyncResponse
}

func imageDelete(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	fp := img.Fingerprint
	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Deleting image",
		Resources:   map[string][]string{"images": {imageURL(fp)}},
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := imagecache.Delete(ctx, s, fp)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "image-deleted", imageURL(fp), nil)
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// sizeString is how LXD puts sizes in operation metadata: as a string.
func sizeString(n int64) string {
	return strconv.FormatInt(n, 10)
}
