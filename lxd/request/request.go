// Package request holds helpers to read API requests: path variables, JSON bodies and the caller's identity.
package request

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/lxd-go/lxd/shared/api"
)

// MaxJSONBody is the largest JSON request body accepted.
const MaxJSONBody = 4 << 20

// PathVar returns the unescaped value of a route variable.
func PathVar(r *http.Request, name string) (string, error) {
	raw := mux.Vars(r)[name]
	v, err := url.PathUnescape(raw)
	if err != nil {
		return "", api.StatusErrorf(http.StatusBadRequest, "invalid %s in path: %v", name, err)
	}

	return v, nil
}

// DecodeJSON reads a size-limited JSON body into target, refusing unknown trailing data.
func DecodeJSON(r *http.Request, target any) error {
	body := http.MaxBytesReader(nil, r.Body, MaxJSONBody)
	dec := json.NewDecoder(body)
	err := dec.Decode(target)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return api.StatusErrorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", MaxJSONBody)
		}

		if errors.Is(err, io.EOF) {
			return api.StatusErrorf(http.StatusBadRequest, "request body is empty, expected JSON")
		}

		return api.StatusErrorf(http.StatusBadRequest, "invalid JSON in request body: %v", err)
	}

	_, err = dec.Token()
	if !errors.Is(err, io.EOF) {
		return api.StatusErrorf(http.StatusBadRequest, "invalid JSON in request body: trailing data after the object")
	}

	return nil
}

// QueryInt returns an integer query parameter, or def when it is absent.
func QueryInt(r *http.Request, name string, def int) (int, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}

	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, api.StatusErrorf(http.StatusBadRequest, "invalid %s %q: not an integer", name, v)
	}

	return n, nil
}

// Requestor describes who sent a request.
type Requestor struct {
	// Trusted is true for unix socket callers and trusted TLS certificates.
	Trusted bool

	// Protocol is "unix" or "tls".
	Protocol string

	// Username is the certificate fingerprint for TLS callers, the uid for unix callers.
	Username string

	// Address is the remote address.
	Address string

	// Fingerprint is the SHA-256 fingerprint of the TLS client certificate, if any.
	Fingerprint string

	// Certificate is the TLS client certificate in DER form, if any.
	Certificate []byte

	// CertificateType is the type of the trust store entry of the TLS client certificate ("client" or
	// "metrics"), "" when it is not in the trust store. A "metrics" certificate leaves the caller untrusted: only
	// the metrics endpoint lets it in.
	CertificateType string

	// Restricted is set for a client certificate limited to Projects: it reaches the objects of those projects
	// only, and of the server only what the endpoint table lets restricted clients do.
	Restricted bool
	Projects   []string
}

// CanAccessProject says whether the requestor may reach the objects of a project.
func (r *Requestor) CanAccessProject(name string) bool {
	return !r.Restricted || slices.Contains(r.Projects, name)
}

type ctxKey int

const requestorKey ctxKey = 0

// WithRequestor returns a context carrying the requestor.
func WithRequestor(ctx context.Context, req *Requestor) context.Context {
	return context.WithValue(ctx, requestorKey, req)
}

// GetRequestor returns the requestor of r; an untrusted empty one when the router set none.
func GetRequestor(r *http.Request) *Requestor {
	req, ok := r.Context().Value(requestorKey).(*Requestor)
	if !ok {
		return &Requestor{Address: r.RemoteAddr}
	}

	return req
}

// Lifecycle returns the requestor as lifecycle events carry it.
func (req *Requestor) Lifecycle() *api.EventLifecycleRequestor {
	if !req.Trusted {
		return &api.EventLifecycleRequestor{Address: req.Address}
	}

	return &api.EventLifecycleRequestor{Username: req.Username, Protocol: req.Protocol, Address: req.Address}
}

// String describes the requestor for logs.
func (req *Requestor) String() string {
	return fmt.Sprintf("%s:%s@%s", req.Protocol, req.Username, req.Address)
}
