// Package api holds the REST API wire types shared by the daemon, the client library and the CLI.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ResponseType is the envelope type of a response.
type ResponseType string

// Envelope types.
const (
	SyncResponse  ResponseType = "sync"
	AsyncResponse ResponseType = "async"
	ErrorResponse ResponseType = "error"
)

// ResponseRaw is the envelope every JSON endpoint answers with, metadata left undecoded.
type ResponseRaw struct {
	// Type is sync, async or error.
	// Example: sync
	Type ResponseType `json:"type" yaml:"type"`

	// Status is the textual status for sync and async responses.
	// Example: Success
	Status string `json:"status" yaml:"status"`

	// StatusCode is the numeric status for sync and async responses.
	// Example: 200
	StatusCode int `json:"status_code" yaml:"status_code"`

	// Operation is the URL of the background operation for async responses.
	// Example: /1.0/operations/66e83638-9dd7-4a26-aef2-5462814869a1
	Operation string `json:"operation" yaml:"operation"`

	// Code is the HTTP status of an error response.
	// Example: 404
	Code int `json:"error_code" yaml:"error_code"`

	// Error is the message of an error response.
	// Example: not found
	Error string `json:"error" yaml:"error"`

	// Metadata is the payload.
	Metadata json.RawMessage `json:"metadata" yaml:"metadata"`
}

// MetadataAsMap decodes the metadata into a map.
func (r *ResponseRaw) MetadataAsMap() (map[string]any, error) {
	ret := map[string]any{}
	err := r.MetadataAsStruct(&ret)
	if err != nil {
		return nil, err
	}

	return ret, nil
}

// MetadataAsStruct decodes the metadata into target.
func (r *ResponseRaw) MetadataAsStruct(target any) error {
	if len(r.Metadata) == 0 {
		return nil
	}

	return json.Unmarshal(r.Metadata, target)
}

// StatusError is an error carrying an HTTP status code.
type StatusError struct {
	status int
	msg    string
}

// NewStatusError returns an error with the given HTTP status and message.
func NewStatusError(status int, msg string) StatusError {
	return StatusError{status: status, msg: msg}
}

// StatusErrorf returns an error with the given HTTP status and formatted message.
func StatusErrorf(status int, format string, a ...any) StatusError {
	return StatusError{status: status, msg: fmt.Sprintf(format, a...)}
}

// Error returns the message, or the standard status text when it is empty.
func (e StatusError) Error() string {
	if e.msg != "" {
		return e.msg
	}

	return statusText[e.status]
}

// Status returns the HTTP status code.
func (e StatusError) Status() int {
	return e.status
}

// StatusErrorCheck reports whether err is a StatusError with one of the given statuses (any status when none given).
func StatusErrorCheck(err error, statuses ...int) bool {
	var se StatusError
	if !errors.As(err, &se) {
		return false
	}

	if len(statuses) == 0 {
		return true
	}

	for _, s := range statuses {
		if se.status == s {
			return true
		}
	}

	return false
}

// statusText is the standard text of each HTTP status (as net/http's StatusText gives it), kept here so the API
// types do not pull in net/http.
var statusText = map[int]string{
	100: "Continue",
	101: "Switching Protocols",
	102: "Processing",
	103: "Early Hints",
	200: "OK",
	201: "Created",
	202: "Accepted",
	203: "Non-Authoritative Information",
	204: "No Content",
	205: "Reset Content",
	206: "Partial Content",
	207: "Multi-Status",
	208: "Already Reported",
	226: "IM Used",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	304: "Not Modified",
	305: "Use Proxy",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Request Entity Too Large",
	414: "Request URI Too Long",
	415: "Unsupported Media Type",
	416: "Requested Range Not Satisfiable",
	417: "Expectation Failed",
	418: "I'm a teapot",
	421: "Misdirected Request",
	422: "Unprocessable Entity",
	423: "Locked",
	424: "Failed Dependency",
	425: "Too Early",
	426: "Upgrade Required",
	428: "Precondition Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
	505: "HTTP Version Not Supported",
	506: "Variant Also Negotiates",
	507: "Insufficient Storage",
	508: "Loop Detected",
	510: "Not Extended",
	511: "Network Authentication Required",
}
