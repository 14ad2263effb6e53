package operations

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/shared/api"
)

// Response returns the 202 async answer for op. The operation starts when the response renders (unless it was
// started already), so a handler can validate everything synchronously first and only then hand the work over.
func Response(op *Operation) response.Response {
	return &operationResponse{op: op}
}

type operationResponse struct {
	op *Operation
}

// Render starts the operation and writes the async envelope with its Location.
func (o *operationResponse) Render(w http.ResponseWriter, r *http.Request) error {
	if o.op.Status() == api.Pending {
		err := o.op.Start()
		if err != nil {
			return response.SmartError(err).Render(w, r)
		}
	}

	return response.AsyncResponse(o.op.URL(), o.op.Render()).Render(w, r)
}
