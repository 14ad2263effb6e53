package rest

import (
	"context"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// checkRemoteSource validates the image source of a creation from another server before anything starts.
func checkRemoteSource(src api.InstanceSource) error {
	return image.CheckRemoteSource(src)
}

// remoteImage returns the fingerprint of the local image a creation from another server uses: the cached copy, or
// the image pulled now, with the download's progress in the operation's metadata.
func remoteImage(ctx context.Context, s *state.State, op *operations.Operation, requestor *request.Requestor, src api.InstanceSource) (string, error) {
	return s.Image.CacheRemote(ctx, src, image.PullArgs{Progress: opProgress(op), Requestor: lifecycleRequestor(requestor)})
}

// markImageUsed records that an image has just been used to create an instance.
func markImageUsed(ctx context.Context, s *state.State, fp string) {
	s.Image.MarkUsed(ctx, fp)
}
