package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// parseUploadHeaders reads what the headers of an upload say about the new image, and the fingerprint expected.
func parseUploadHeaders(r *http.Request) (*image.StoreArgs, string, error) {
	args := &image.StoreArgs{Filename: filepath.Base(r.Header.Get("X-LXD-filename"))}
	expected := strings.ToLower(strings.TrimSpace(r.Header.Get("X-LXD-fingerprint")))
	if args.Filename == "." || args.Filename == "/" {
		args.Filename = ""
	}

	public := r.Header.Get("X-LXD-public")
	if public != "" {
		v, err := strconv.ParseBool(public)
		if err != nil {
			return nil, "", api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-public header %q", public)
		}

		args.Public = v
	}

	props := r.Header.Get("X-LXD-properties")
	if props != "" {
		values, err := url.ParseQuery(props)
		if err != nil {
			return nil, "", api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-properties header: %v", err)
		}

		args.Properties = map[string]string{}
		for k, v := range values {
			if k == "" {
				return nil, "", api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-properties header: empty key")
			}

			args.Properties[k] = v[len(v)-1]
		}
	}

	return args, expected, nil
}

func imagesPost(s *state.State, r *http.Request) response.Response {
	requestor := request.GetRequestor(r)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		if !requestor.Trusted {
			return response.Forbidden(nil)
		}

		return imagesPostJSON(s, r)
	}

	// An untrusted caller may only push an image with an upload secret this server handed out.
	var grant *pushGrant
	if !requestor.Trusted {
		var ok bool
		grant, ok = usePushToken(s, r.Header.Get("X-LXD-secret"))
		if !ok {
			return response.Forbidden(nil)
		}
	}

	args, expected, err := parseUploadHeaders(r)
	if err != nil {
		drain(r)
		return response.SmartError(err)
	}

	imgs, err := imagesOf(s, r)
	if err != nil {
		drain(r)
		return response.SmartError(err)
	}

	// The secret lets the untrusted server pushing the image wait for its operation.
	secret := ""
	if grant != nil {
		if grant.Fingerprint != "" && expected != grant.Fingerprint {
			drain(r)
			return response.BadRequest(fmt.Errorf("the upload secret is for image %s", grant.Fingerprint))
		}

		args.Properties = grant.Properties
		args.Public = grant.Public
		secret, err = randomSecret()
		if err != nil {
			drain(r)
			return response.InternalError(err)
		}
	}

	opts := images.ImportOptions{ExpectedFingerprint: expected, WriteBase: true}
	var pending *images.Pending
	if mediaType == "multipart/form-data" {
		pending, err = importSplit(s, r, args, opts)
	} else {
		pending, err = s.Images.ImportUnified(r.Context(), r.Body, opts)
	}

	if err != nil {
		drain(r)
		return response.SmartError(err)
	}

	// The commit runs in an operation, as LXD does: the client waits for it on the events stream.
	var metadata map[string]any
	if secret != "" {
		metadata = map[string]any{"secret": secret}
	}

	args.Requestor = requestor.Lifecycle()
	op, err := imageOp(s, r, "Downloading image", []string{image.URL(pending.Fingerprint)}, metadata,
		func(ctx context.Context, op *operations.Operation) error {
			img, err := imgs.Store(ctx, pending, *args)
			if err != nil {
				return err
			}

			final := image.Result(img)
			if secret != "" {
				final["secret"] = secret
			}

			return op.UpdateMetadata(final)
		})
	if err != nil {
		pending.Abort()
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// drain reads what is left of a refused upload, so the client gets the error instead of a reset connection.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
}

// importSplit receives a multipart upload: the "metadata" part, then the "rootfs" part.
func importSplit(s *state.State, r *http.Request, args *image.StoreArgs, opts images.ImportOptions) (*images.Pending, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid multipart upload: %v", err)
	}

	meta, err := mr.NextPart()
	if err != nil {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid multipart upload: %v", err)
	}

	if meta.FormName() != "metadata" {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid multipart upload: first part is %q, want \"metadata\"",
			meta.FormName())
	}

	nextRootfs := func() (io.Reader, error) {
		part, err := mr.NextPart()
		if err != nil {
			return nil, api.StatusErrorf(http.StatusBadRequest, "invalid multipart upload: missing the rootfs part: %v", err)
		}

		switch part.FormName() {
		case "rootfs":
		case "rootfs.img":
			return nil, api.StatusErrorf(http.StatusBadRequest, "virtual machine images are not supported")
		default:
			return nil, api.StatusErrorf(http.StatusBadRequest, "invalid multipart upload: second part is %q, want \"rootfs\"",
				part.FormName())
		}

		// LXD records the rootfs part's name as a split image's file name.
		name := filepath.Base(part.FileName())
		if name != "." && name != "/" && name != "" {
			args.Filename = name
		}

		return part, nil
	}

	return s.Images.ImportSplit(r.Context(), meta, nextRootfs, opts)
}

// imagesPostJSON handles image creation requests that name a source instead of carrying the image.
func imagesPostJSON(s *state.State, r *http.Request) response.Response {
	var req api.ImagesPost
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Source == nil {
		return response.BadRequest(errors.New("no image source given and no image uploaded"))
	}

	for _, a := range req.Aliases {
		err = image.ValidateAliasName(a.Name)
		if err != nil {
			return response.SmartError(err)
		}
	}

	if req.Source.Mode == "push" {
		return imagesPostPushToken(s, r, req)
	}

	if req.Source.Type == "image" && req.Source.Server == "" && req.Source.Project != "" {
		return imagesPostFromProject(s, r, req)
	}

	switch req.Source.Type {
	case "url":
		_, err = image.ParseWebURL(req.Source.URL)
	case "image":
		err = image.CheckPull(req.Source)
	case "instance", "container", "snapshot":
		return imagesPostPublish(s, r, req)
	default:
		return response.BadRequest(fmt.Errorf("image source type %q is not supported by this server", req.Source.Type))
	}

	if err != nil {
		return response.SmartError(err)
	}

	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	// A pull or a URL import runs in an operation; its progress and result show in the operation's metadata.
	requestor := lifecycleRequestor(request.GetRequestor(r))
	return imageTask(s, r, "Downloading image", nil, func(ctx context.Context, op *operations.Operation) error {
		args := image.PullArgs{Progress: opProgress(op), Requestor: requestor}
		if req.Source.Type == "url" {
			_, err := imgs.ImportURL(ctx, req, args)
			return err
		}

		_, err := imgs.Copy(ctx, req, args)
		return err
	})
}

// imagesPostFromProject records in the request's project an image of another project of this server
// (image_source_project: source.project, no server). A restricted client must be allowed in the source project too.
func imagesPostFromProject(s *state.State, r *http.Request, req api.ImagesPost) response.Response {
	if !request.GetRequestor(r).CanAccessProject(req.Source.Project) {
		return response.Forbidden(nil)
	}

	if req.Source.Mode != "" && req.Source.Mode != "pull" {
		return response.SmartError(errs.Invalid("image copy mode %q is not supported by this server (use pull)", req.Source.Mode))
	}

	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	from, err := imagesIn(s, r, req.Source.Project)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := lifecycleRequestor(request.GetRequestor(r))
	return imageTask(s, r, "Copying image", nil, func(ctx context.Context, op *operations.Operation) error {
		_, err := imgs.CopyFrom(ctx, from, req, image.PullArgs{Progress: opProgress(op), Requestor: requestor})
		return err
	})
}
