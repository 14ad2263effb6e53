package rest

import (
	"context"
	"net/http"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

var imageRefreshCmd = Endpoint{
	Path: "images/{fingerprint}/refresh",
	Post: Action{Handler: imageRefresh, Access: allowTrusted},
}

// imageRefresh checks the image's source for a newer image under the alias it was pulled by, and replaces it.
func imageRefresh(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = image.CheckRefresh(img)
	if err != nil {
		return response.SmartError(err)
	}

	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	fp := img.Fingerprint
	requestor := lifecycleRequestor(request.GetRequestor(r))
	return imageTask(s, r, "Refreshing image", []string{image.URL(fp)}, func(ctx context.Context, op *operations.Operation) error {
		newFP, err := imgs.Refresh(ctx, fp, image.PullArgs{Progress: opProgress(op), Requestor: requestor})
		if err != nil {
			return err
		}

		return op.UpdateMetadata(map[string]any{"refreshed": newFP != fp, "fingerprint": newFP})
	})
}
