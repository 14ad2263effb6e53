package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/response"
)

// checkETag refuses a PUT or PATCH whose If-Match does not match the current state's ETag.
func checkETag(r *http.Request, current any) response.Response {
	match := strings.Trim(r.Header.Get("If-Match"), `"`)
	if match == "" {
		return nil
	}

	hash, err := response.ETag(current)
	if err != nil {
		return response.InternalError(err)
	}

	if hash != match {
		return response.PreconditionFailed(fmt.Errorf("ETag doesn't match: %s vs %s", hash, match))
	}

	return nil
}
