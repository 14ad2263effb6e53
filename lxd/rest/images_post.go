package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// imageUpload is what the headers of an upload say about the new image.
type imageUpload struct {
	filename   string
	public     bool
	properties map[string]string
	expected   string

	// autoUpdate and source are set for images pulled from another server.
	autoUpdate bool
	source     *db.ImageSource

	// secret lets the untrusted server pushing the image wait for its operation.
	secret string
}

func parseUploadHeaders(r *http.Request) (*imageUpload, error) {
	up := &imageUpload{
		filename: filepath.Base(r.Header.Get("X-LXD-filename")),
		expected: strings.ToLower(strings.TrimSpace(r.Header.Get("X-LXD-fingerprint"))),
	}

	if up.filename == "." || up.filename == "/" {
		up.filename = ""
	}

	public := r.Header.Get("X-LXD-public")
	if public != "" {
		v, err := strconv.ParseBool(public)
		if err != nil {
			return nil, api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-public header %q", public)
		}

		up.public = v
	}

	props := r.Header.Get("X-LXD-properties")
	if props != "" {
		values, err := url.ParseQuery(props)
		if err != nil {
			return nil, api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-properties header: %v", err)
		}

		up.properties = map[string]string{}
		for k, v := range values {
			if k == "" {
				return nil, api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-properties header: empty key")
			}

			up.properties[k] = v[len(v)-1]
		}
	}

	return up, nil
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

	up, err := parseUploadHeaders(r)
	if err != nil {
		drain(r)
		return response.SmartError(err)
	}

	if grant != nil {
		if grant.Fingerprint != "" && up.expected != grant.Fingerprint {
			drain(r)
			return response.BadRequest(fmt.Errorf("the upload secret is for image %s", grant.Fingerprint))
		}

		up.properties = grant.Properties
		up.public = grant.Public
		up.secret, err = randomSecret()
		if err != nil {
			drain(r)
			return response.InternalError(err)
		}
	}

	opts := images.ImportOptions{ExpectedFingerprint: up.expected}
	var pending *images.Pending
	if mediaType == "multipart/form-data" {
		pending, err = importSplit(s, r, up, opts)
	} else {
		pending, err = s.Images.ImportUnified(r.Context(), r.Body, opts)
	}

	if err != nil {
		drain(r)
		return response.SmartError(err)
	}

	return storeImageOperation(s, requestor, pending, up)
}

// drain reads what is left of a refused upload, so the client gets the error instead of a reset connection.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
}

// importSplit receives a multipart upload: the "metadata" part, then the "rootfs" part.
func importSplit(s *state.State, r *http.Request, up *imageUpload, opts images.ImportOptions) (*images.Pending, error) {
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
			up.filename = name
		}

		return part, nil
	}

	return s.Images.ImportSplit(r.Context(), meta, nextRootfs, opts)
}

// storeImageOperation commits a received upload in an operation, as LXD does: the client waits for it on the events
// stream.
func storeImageOperation(s *state.State, requestor *request.Requestor, pending *images.Pending, up *imageUpload) response.Response {
	var metadata map[string]any
	if up.secret != "" {
		metadata = map[string]any{"secret": up.secret}
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Downloading image",
		Resources:   map[string][]string{"images": {imageURL(pending.Fingerprint)}},
		Metadata:    metadata,
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			return storeImage(ctx, s, op, requestor, pending, up, nil)
		},
	})
	if err != nil {
		pending.Abort()
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// storeImage commits a received image and records it with its aliases. The files are renamed into place first and
// the row written second; if the row cannot be written the files go again, and a crash in between leaves files the
// daemon removes at start.
func storeImage(ctx context.Context, s *state.State, op *operations.Operation, requestor *request.Requestor,
	pending *images.Pending, up *imageUpload, aliases []api.ImageAlias) error {
	err := pending.Commit()
	if err != nil {
		return err
	}

	img := imageFromPending(pending, up)
	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateImage(ctx, img)
		if err != nil {
			return err
		}

		for _, a := range aliases {
			err = validateAliasName(a.Name)
			if err != nil {
				return err
			}

			_, err = tx.CreateImageAlias(ctx, db.ImageAlias{Name: a.Name, Description: a.Description, Target: img.Fingerprint})
			if errors.Is(err, errs.ErrConflict) {
				return api.StatusErrorf(http.StatusConflict, "alias %q already exists", a.Name)
			}

			if err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		removeErr := s.Images.Delete(img.Fingerprint)
		if removeErr != nil {
			slog.Error("failed removing the files of an image that could not be recorded",
				"fingerprint", img.Fingerprint, "err", removeErr)
		}

		return fmt.Errorf("record image: %w", err)
	}

	lifecycleBy(s, requestor, "image-created", imageURL(img.Fingerprint), map[string]any{"type": "container"})
	final := map[string]any{"fingerprint": img.Fingerprint, "size": sizeString(img.Size)}
	if up.secret != "" {
		final["secret"] = up.secret
	}

	return op.UpdateMetadata(final)
}

// imageFromPending builds the image row of a received image: metadata.yaml's properties, overridden by those the
// upload names.
func imageFromPending(p *images.Pending, up *imageUpload) db.Image {
	props := map[string]string{}
	for k, v := range p.Metadata.Properties {
		props[k] = v
	}

	for k, v := range up.properties {
		props[k] = v
	}

	expires := time.Unix(p.Metadata.ExpiryDate, 0).UTC()
	return db.Image{
		Fingerprint:  p.Fingerprint,
		Filename:     up.filename,
		Size:         p.Size,
		Public:       up.public,
		Architecture: p.Metadata.Architecture,
		Type:         p.Type,
		CreatedAt:    time.Unix(p.Metadata.CreationDate, 0).UTC(),
		ExpiresAt:    expires,
		UploadedAt:   time.Now().UTC(),
		Properties:   props,
		AutoUpdate:   up.autoUpdate,
		Source:       up.source,
	}
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
		err = validateAliasName(a.Name)
		if err != nil {
			return response.SmartError(err)
		}
	}

	if req.Source.Mode == "push" {
		return imagesPostPushToken(s, r, req)
	}

	switch req.Source.Type {
	case "url":
		return imagesPostURL(s, r, req)
	case "image":
		return imagesPostPull(s, r, req)
	case "instance", "container", "snapshot":
		return imagesPostPublish(s, r, req)
	}

	return response.BadRequest(fmt.Errorf("image source type %q is not supported by this server", req.Source.Type))
}
