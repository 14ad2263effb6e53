package rest

import (
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/locking"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/shared/api"
)

// updateLocks serialise the updates of each resource, from reading its state for the ETag check to writing the
// new state, so that two conditional updates made from the same state cannot both succeed.
var updateLocks locking.Keyed

// lockUpdate takes the update lock of one resource (kind and name) and returns its release.
func lockUpdate(kind string, name string) func() {
	return updateLocks.Lock(kind + "/" + name)
}

// checkETag refuses a PUT or PATCH whose If-Match does not match the current state's ETag.
func checkETag(r *http.Request, current any) response.Response {
	err := matchETag(r, current)
	if err != nil {
		return response.SmartError(err)
	}

	return nil
}

// matchETag is checkETag as an error (a 412 StatusError), for checks made inside a transaction.
func matchETag(r *http.Request, current any) error {
	match := strings.Trim(r.Header.Get("If-Match"), `"`)
	if match == "" {
		return nil
	}

	hash, err := response.ETag(current)
	if err != nil {
		return err
	}

	if hash != match {
		return api.StatusErrorf(http.StatusPreconditionFailed, "ETag doesn't match: %s vs %s", hash, match)
	}

	return nil
}
