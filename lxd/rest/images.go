package rest

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"

	"github.com/lxd-go/lxd/lxd/filter"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
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

// imageETag is what an image's ETag is computed from, as LXD does: its writable state.
func imageETag(img *api.Image) any {
	return []any{img.Public, img.AutoUpdate, img.Properties}
}

// lifecycleRequestor is how a lifecycle event names the caller; nil for the daemon's own actions.
func lifecycleRequestor(req *request.Requestor) *api.EventLifecycleRequestor {
	if req == nil {
		return nil
	}

	return req.Lifecycle()
}

// opProgress shows the domain's progress reports in the operation's metadata.
func opProgress(op *operations.Operation) image.Progress {
	return func(metadata map[string]any) { _ = op.UpdateMetadata(metadata) }
}

// imageOp creates an operation running fn on the images at resources (API paths).
func imageOp(s *state.State, r *http.Request, description string, resources []string, metadata map[string]any,
	fn func(ctx context.Context, op *operations.Operation) error) (*operations.Operation, error) {
	args := operations.Args{
		Class:       api.OperationClassTask,
		Description: description,
		Metadata:    metadata,
		Requestor:   request.GetRequestor(r),
		Run:         fn,
		Project:     requestProject(r),
	}

	if len(resources) > 0 {
		args.Resources = map[string][]string{"images": resources}
	}

	return s.Ops.Create(args)
}

// imageTask answers with an operation running fn.
func imageTask(s *state.State, r *http.Request, description string, resources []string,
	fn func(ctx context.Context, op *operations.Operation) error) response.Response {
	op, err := imageOp(s, r, description, resources, nil, fn)
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func imagesGet(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	expr, err := filter.Parse(r.FormValue("filter"))
	if err != nil {
		return response.SmartError(err)
	}

	out, err := imgs.List(r.Context(), !request.GetRequestor(r).Trusted)
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
			urls = append(urls, project.WithProject(image.URL(img.Fingerprint), imgs.Project()))
		}

		return response.SyncResponse(urls)
	}

	return response.SyncResponse(out)
}

// loadImage finds the image named by the path's fingerprint (a unique prefix is enough). An untrusted caller sees
// a private image only with a valid secret for it; otherwise it is not found, without telling it exists.
func loadImage(s *state.State, r *http.Request) (*api.Image, error) {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return nil, err
	}

	prefix, err := request.PathVar(r, "fingerprint")
	if err != nil {
		return nil, err
	}

	trusted := request.GetRequestor(r).Trusted
	img, err := imgs.Get(r.Context(), prefix)
	if err != nil && !trusted {
		// An ambiguous prefix would reveal that private images exist.
		return nil, errImageNotFound
	}

	if err != nil {
		return nil, err
	}

	if !trusted && !img.Public && !useImageSecret(s, img.Fingerprint, r.FormValue("secret")) {
		return nil, errImageNotFound
	}

	return img, nil
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
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var body json.RawMessage
	err = request.DecodeJSON(r, &body)
	if err != nil {
		return response.SmartError(err)
	}

	// The ETag check and the merge run in the domain's transaction, with the write.
	err = imgs.Update(r.Context(), img.Fingerprint, func(current api.Image) (api.ImagePut, error) {
		err := matchETag(r, imageETag(&current))
		if err != nil {
			return api.ImagePut{}, err
		}

		put := api.ImagePut{}
		if merge {
			put = current.Writable()
			put.Properties = maps.Clone(current.Properties)
		}

		err = json.Unmarshal(body, &put)
		if err != nil {
			return api.ImagePut{}, api.StatusErrorf(http.StatusBadRequest, "invalid JSON in request body: %v", err)
		}

		return put, nil
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-updated", image.URL(img.Fingerprint), nil)
	return response.EmptySyncResponse
}

func imageDelete(s *state.State, r *http.Request) response.Response {
	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	fp := img.Fingerprint
	requestor := request.GetRequestor(r)
	return imageTask(s, r, "Deleting image", []string{image.URL(fp)}, func(ctx context.Context, op *operations.Operation) error {
		return imgs.Delete(ctx, fp, lifecycleRequestor(requestor))
	})
}
