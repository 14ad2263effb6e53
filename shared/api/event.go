package api

import (
	"encoding/json"
	"time"
)

// Event types.
const (
	EventTypeLifecycle = "lifecycle"
	EventTypeLogging   = "logging"
	EventTypeOperation = "operation"
)

// Event is one message on the events websocket.
type Event struct {
	// Type is lifecycle, logging or operation.
	// Example: lifecycle
	Type string `json:"type" yaml:"type"`

	// Timestamp is when the event happened.
	// Example: 2021-02-24T19:00:45.452649098-05:00
	Timestamp time.Time `json:"timestamp" yaml:"timestamp"`

	// Metadata is the event payload.
	Metadata json.RawMessage `json:"metadata" yaml:"metadata"`

	// Location is the cluster member the event came from.
	// Example: none
	Location string `json:"location,omitempty" yaml:"location,omitempty"`

	// Project is the project the event belongs to.
	// Example: default
	Project string `json:"project,omitempty" yaml:"project,omitempty"`
}

// EventLifecycleRequestor identifies who caused a lifecycle event.
type EventLifecycleRequestor struct {
	// Username is the caller's certificate fingerprint or unix user.
	// Example: 62d332a2...
	Username string `json:"username" yaml:"username"`

	// Protocol is tls or unix.
	// Example: tls
	Protocol string `json:"protocol" yaml:"protocol"`

	// Address is the caller's address.
	// Example: 127.0.0.1:56164
	Address string `json:"address" yaml:"address"`
}

// EventLifecycle is the payload of a lifecycle event.
type EventLifecycle struct {
	// Action is what happened.
	// Example: image-created
	Action string `json:"action" yaml:"action"`

	// Source is the URL of the affected resource.
	// Example: /1.0/images/aa2149e1...
	Source string `json:"source" yaml:"source"`

	// Context holds action-specific details.
	Context map[string]any `json:"context,omitempty" yaml:"context,omitempty"`

	// Requestor is who caused the event.
	Requestor *EventLifecycleRequestor `json:"requestor,omitempty" yaml:"requestor,omitempty"`
}

// EventLogging is the payload of a logging event.
type EventLogging struct {
	// Message is the log message.
	// Example: Handling API request
	Message string `json:"message" yaml:"message"`

	// Level is the log level.
	// Example: debug
	Level string `json:"level" yaml:"level"`

	// Context holds the log record's key/values.
	Context map[string]string `json:"context" yaml:"context"`
}
