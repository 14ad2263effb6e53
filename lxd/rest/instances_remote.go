package rest

import (
	"context"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
)

// checkRemoteSource validates the image source of a creation from another server before anything starts.
func checkRemoteSource(src api.InstanceSource) error {
	return image.CheckRemoteSource(src)
}

// remoteImage returns the fingerprint of the local image a creation from another server uses: the cached copy, or
// the image pulled now, with the download's progress in the operation's metadata.
func remoteImage(ctx context.Context, imgs *image.Manager, op *operations.Operation, requestor *request.Requestor, src api.InstanceSource) (string, error) {
	return imgs.CacheRemote(ctx, src, image.PullArgs{Progress: opProgress(op), Requestor: lifecycleRequestor(requestor)})
}
