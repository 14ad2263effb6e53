package rest

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"

	"github.com/lxd-go/lxd/lxd/images"
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

// exportName is the file name an image part is offered under: the fingerprint with the extension of its
// compression, "meta-" in front for the metadata part of a split image.
func exportName(path string, prefix string, fp string) string {
	comp, err := images.DetectFile(path)
	if err != nil {
		return prefix + fp
	}

	return prefix + fp + images.FileExtension(comp)
}

func imageExport(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	fp := img.Fingerprint
	meta, rootfs, err := s.Images.Paths(fp)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	if rootfs == "" {
		return response.ManualResponse(func(w http.ResponseWriter) error {
			f, err := os.Open(meta)
			if err != nil {
				return err
			}

			defer func() { _ = f.Close() }()
			info, err := f.Stat()
			if err != nil {
				return err
			}

			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "inline;filename="+exportName(meta, "", fp))
			lifecycleBy(s, requestor, "image-retrieved", imageURL(fp), nil)
			http.ServeContent(w, r, "", info.ModTime(), f)
			return nil
		})
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", mw.FormDataContentType())
		w.WriteHeader(http.StatusOK)
		lifecycleBy(s, requestor, "image-retrieved", imageURL(fp), nil)
		for _, part := range []struct{ name, path, filename string }{
			{"metadata", meta, exportName(meta, "meta-", fp)},
			{"rootfs", rootfs, exportName(rootfs, "", fp)},
		} {
			err := writeFilePart(mw, part.name, part.filename, part.path)
			if err != nil {
				return err
			}
		}

		return mw.Close()
	})
}

func writeFilePart(mw *multipart.Writer, name string, filename string, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf("form-data; name=%q; filename=%q", name, filename))
	h.Set("Content-Type", "application/octet-stream")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}

	_, err = io.Copy(w, f)
	return err
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
		Resources:   map[string][]string{"images": {imageURL(img.Fingerprint)}},
		Metadata:    map[string]any{"secret": secret},
		Requestor:   request.GetRequestor(r),
	})
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "image-secret-created", imageURL(img.Fingerprint), nil)
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
			if res == imageURL(fp) {
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
