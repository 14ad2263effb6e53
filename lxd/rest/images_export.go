package rest

import (
	"fmt"
	"net/http"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var imageExportCmd = Endpoint{
	Path: "images/{fingerprint}/export",
	Get:  Action{Handler: imageExport, AllowUntrusted: true},
	Post: Action{Handler: imageExportPush, Access: allowTrusted},
}

var imageSecretCmd = Endpoint{
	Path: "images/{fingerprint}/secret",
	Post: Action{Handler: imageSecret, Access: allowTrusted},
}

// imageExport serves the image's file, or its metadata and rootfs parts as a multipart body.
func imageExport(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	fp := img.Fingerprint
	requestor := request.GetRequestor(r)
	switch r.URL.Query().Get("format") {
	case "":
	case "oci":
		return imageExportLayout(s, img, requestor)
	default:
		return response.BadRequest(fmt.Errorf("unknown export format %q (known: oci)", r.URL.Query().Get("format")))
	}

	meta, rootfs, err := s.Image.Files(fp)
	if err != nil {
		return response.SmartError(err)
	}

	files := []response.FileEntry{{Path: meta.Path, Filename: meta.Name, Identifier: "metadata"}}
	if rootfs != nil {
		files = append(files, response.FileEntry{Path: rootfs.Path, Filename: rootfs.Name, Identifier: "rootfs"})
	}

	hash, err := s.Image.ExportHash(img)
	if err != nil {
		return response.SmartError(err)
	}

	var headers http.Header
	if hash != "" {
		headers = http.Header{}
		headers.Set(api.ImageExportTypeHeader, image.ProtocolOCI)
		headers.Set(api.ImageExportHashHeader, hash)
	}

	return response.FileResponseHeaders(files, headers, func() {
		lifecycleBy(s, requestor, "image-retrieved", image.URL(fp), nil)
	})
}

// imageExportLayout serves an OCI image as an OCI image layout in a tar stream, its blobs with it, for another
// server to copy it checked against its fingerprint (image_export_oci_layout).
func imageExportLayout(s *state.State, img *api.Image, requestor *request.Requestor) response.Response {
	layout, err := s.Image.OpenLayout(img)
	if err != nil {
		return response.SmartError(err)
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		defer layout.Close()
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		lifecycleBy(s, requestor, "image-retrieved", image.URL(img.Fingerprint), nil)
		return layout.Write(w)
	})
}

// imageSecret creates a one-time secret letting an untrusted server read and export a private image, as a token
// operation that ends when the secret is used or revoked.
func imageSecret(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	secret, err := randomSecret()
	if err != nil {
		return response.InternalError(err)
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassToken,
		Description: "Image download token",
		Resources:   map[string][]string{"images": {image.URL(img.Fingerprint)}},
		Metadata:    map[string]any{"secret": secret},
		Requestor:   request.GetRequestor(r),
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-secret-created", image.URL(img.Fingerprint), nil)
	return operations.Response(op)
}

// useImageSecret tells whether secret grants access to the image fp. The first use ends the token; it stays valid
// for the requests that follow at once (a pulling server reads the image, then exports it) while the finished
// operation is retained, and never after a revocation.
func useImageSecret(s *state.State, fp string, secret string) bool {
	if secret == "" {
		return false
	}

	op := s.Ops.Find(func(op *operations.Operation) bool {
		if op.Class() != api.OperationClassToken || !op.MatchSecret(secret) {
			return false
		}

		for _, res := range op.Render().Resources["images"] {
			if res == image.URL(fp) {
				return true
			}
		}

		return false
	})
	if op == nil {
		return false
	}

	switch op.Status() {
	case api.Running:
		err := op.Done(nil)
		return err == nil || op.Status() == api.Success
	case api.Success:
		return true
	}

	return false
}
