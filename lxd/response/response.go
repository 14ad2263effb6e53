// Package response renders the REST API's sync, async and error envelopes.
package response

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Response is what a handler returns; the router renders it.
type Response interface {
	Render(w http.ResponseWriter, r *http.Request) error
}

type envelope struct {
	Type       api.ResponseType `json:"type"`
	Status     string           `json:"status"`
	StatusCode int              `json:"status_code"`
	Operation  string           `json:"operation"`
	ErrorCode  int              `json:"error_code"`
	Error      string           `json:"error"`
	Metadata   any              `json:"metadata"`
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	if err != nil {
		return err
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

type syncResponse struct {
	status   int
	metadata any
	etag     any
	location string
	headers  map[string]string
}

// SyncResponse returns a 200 sync envelope holding metadata.
func SyncResponse(metadata any) Response {
	return &syncResponse{status: http.StatusOK, metadata: metadata}
}

// SyncResponseETag returns a 200 sync envelope with an ETag computed from etag.
func SyncResponseETag(metadata any, etag any) Response {
	return &syncResponse{status: http.StatusOK, metadata: metadata, etag: etag}
}

// SyncResponseLocation returns a 201 sync envelope with a Location header, as LXD answers synchronous creates.
func SyncResponseLocation(metadata any, location string) Response {
	return &syncResponse{status: http.StatusCreated, metadata: metadata, location: location}
}

// SyncResponseHeaders returns a 200 sync envelope with extra headers.
func SyncResponseHeaders(metadata any, headers map[string]string) Response {
	return &syncResponse{status: http.StatusOK, metadata: metadata, headers: headers}
}

// EmptySyncResponse is the answer to a successful PUT, PATCH or DELETE.
var EmptySyncResponse Response = &syncResponse{status: http.StatusOK, metadata: map[string]any{}}

// Render writes the envelope.
func (s *syncResponse) Render(w http.ResponseWriter, r *http.Request) error {
	if s.etag != nil {
		hash, err := ETag(s.etag)
		if err == nil {
			w.Header().Set("ETag", fmt.Sprintf("%q", hash))
		}
	}

	if s.location != "" {
		w.Header().Set("Location", s.location)
	}

	for k, v := range s.headers {
		w.Header().Set(k, v)
	}

	return writeJSON(w, s.status, envelope{
		Type:       api.SyncResponse,
		Status:     api.Success.String(),
		StatusCode: int(api.Success),
		Metadata:   s.metadata,
	})
}

// ETag returns the hex sha256 of the JSON encoding of v.
func ETag(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}

	sum := sha256.Sum256(append(data, '\n'))
	return fmt.Sprintf("%x", sum), nil
}

// AsyncResponse returns a 202 async envelope for the operation at url with its current state.
func AsyncResponse(url string, op any) Response {
	return &asyncResponse{url: url, op: op}
}

type asyncResponse struct {
	url string
	op  any
}

// Render writes the envelope.
func (a *asyncResponse) Render(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Location", a.url)
	return writeJSON(w, http.StatusAccepted, envelope{
		Type:       api.AsyncResponse,
		Status:     api.OperationCreated.String(),
		StatusCode: int(api.OperationCreated),
		Operation:  a.url,
		Metadata:   a.op,
	})
}

type errorResponse struct {
	code int
	msg  string
}

// Render writes the envelope.
func (e *errorResponse) Render(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, e.code, envelope{Type: api.ErrorResponse, ErrorCode: e.code, Error: e.msg})
}

// ErrorResponse returns an error envelope with the given HTTP status.
func ErrorResponse(code int, msg string) Response {
	return &errorResponse{code: code, msg: msg}
}

// BadRequest returns a 400 error envelope.
func BadRequest(err error) Response {
	return ErrorResponse(http.StatusBadRequest, err.Error())
}

// Forbidden returns a 403 error envelope.
func Forbidden(err error) Response {
	msg := "not authorized"
	if err != nil {
		msg = err.Error()
	}

	return ErrorResponse(http.StatusForbidden, msg)
}

// NotFound returns a 404 error envelope.
func NotFound(err error) Response {
	msg := "not found"
	if err != nil {
		msg = err.Error()
	}

	return ErrorResponse(http.StatusNotFound, msg)
}

// InternalError returns a 500 error envelope.
func InternalError(err error) Response {
	return ErrorResponse(http.StatusInternalServerError, err.Error())
}

// NotImplemented returns a 501 error envelope.
func NotImplemented(err error) Response {
	msg := "not implemented"
	if err != nil {
		msg = err.Error()
	}

	return ErrorResponse(http.StatusNotImplemented, msg)
}

// PreconditionFailed returns a 412 error envelope.
func PreconditionFailed(err error) Response {
	return ErrorResponse(http.StatusPreconditionFailed, err.Error())
}

// SmartError maps an error to the envelope with the right status: a StatusError keeps its code, error classes map
// by errors.Is, anything else is a 500.
func SmartError(err error) Response {
	if err == nil {
		return EmptySyncResponse
	}

	var se api.StatusError
	if errors.As(err, &se) {
		return ErrorResponse(se.Status(), se.Error())
	}

	switch {
	case errors.Is(err, errs.ErrNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, sql.ErrNoRows):
		return ErrorResponse(http.StatusNotFound, err.Error())
	case errors.Is(err, errs.ErrConflict), errors.Is(err, fs.ErrExist):
		return ErrorResponse(http.StatusConflict, err.Error())
	case errors.Is(err, errs.ErrInvalid):
		return ErrorResponse(http.StatusBadRequest, err.Error())
	case errors.Is(err, errs.ErrForbidden), errors.Is(err, fs.ErrPermission):
		return ErrorResponse(http.StatusForbidden, err.Error())
	case errors.Is(err, errs.ErrBusy):
		return ErrorResponse(http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, errs.ErrUnsupported):
		return ErrorResponse(http.StatusNotImplemented, err.Error())
	}

	slog.Debug("internal error", "err", err)
	return ErrorResponse(http.StatusInternalServerError, err.Error())
}

// ManualResponse lets a handler write the HTTP response itself (websocket upgrades, file downloads).
func ManualResponse(hook func(w http.ResponseWriter) error) Response {
	return &manualResponse{hook: hook}
}

type manualResponse struct {
	hook func(w http.ResponseWriter) error
}

// Render runs the hook.
func (m *manualResponse) Render(w http.ResponseWriter, r *http.Request) error {
	return m.hook(w)
}
