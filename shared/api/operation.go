package api

import "time"

// OperationClass is the kind of an operation.
type OperationClass string

// Operation classes.
const (
	OperationClassTask      OperationClass = "task"
	OperationClassWebsocket OperationClass = "websocket"
	OperationClassToken     OperationClass = "token"
)

// StatusCode is a numeric operation or instance status.
type StatusCode int

// Status codes.
const (
	OperationCreated StatusCode = 100
	Started          StatusCode = 101
	Stopped          StatusCode = 102
	Running          StatusCode = 103
	Cancelling       StatusCode = 104
	Pending          StatusCode = 105
	Starting         StatusCode = 106
	Stopping         StatusCode = 107
	Aborting         StatusCode = 108
	Freezing         StatusCode = 109
	Frozen           StatusCode = 110
	Thawed           StatusCode = 111
	Error            StatusCode = 112
	Ready            StatusCode = 113
	Success          StatusCode = 200
	Failure          StatusCode = 400
	Cancelled        StatusCode = 401
)

var statusNames = map[StatusCode]string{
	OperationCreated: "Operation created",
	Started:          "Started",
	Stopped:          "Stopped",
	Running:          "Running",
	Cancelling:       "Cancelling",
	Pending:          "Pending",
	Starting:         "Starting",
	Stopping:         "Stopping",
	Aborting:         "Aborting",
	Freezing:         "Freezing",
	Frozen:           "Frozen",
	Thawed:           "Thawed",
	Error:            "Error",
	Ready:            "Ready",
	Success:          "Success",
	Failure:          "Failure",
	Cancelled:        "Cancelled",
}

// String returns the status name as LXD spells it.
func (s StatusCode) String() string {
	return statusNames[s]
}

// IsFinal reports whether the status ends an operation.
func (s StatusCode) IsFinal() bool {
	return s == Success || s == Failure || s == Cancelled
}

// Operation is a background operation.
type Operation struct {
	// ID is the operation's UUID.
	// Example: 6916c8a6-9b7d-4abd-90b3-aedfec7ec7da
	ID string `json:"id" yaml:"id"`

	// Class is task, websocket or token.
	// Example: task
	Class string `json:"class" yaml:"class"`

	// Description says what the operation does.
	// Example: Downloading image
	Description string `json:"description" yaml:"description"`

	// CreatedAt is when the operation was created.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`

	// UpdatedAt is when the operation last changed.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	UpdatedAt time.Time `json:"updated_at" yaml:"updated_at"`

	// Status is the status name.
	// Example: Running
	Status string `json:"status" yaml:"status"`

	// StatusCode is the status code.
	// Example: 103
	StatusCode StatusCode `json:"status_code" yaml:"status_code"`

	// Resources lists the affected resources by type.
	// Example: {"images": ["/1.0/images/54c8caac1f61901ed86c68f24af5f5d3672bdc62c71d04f06df3a59e95684473"]}
	Resources map[string][]string `json:"resources" yaml:"resources"`

	// Metadata is the operation's progress or result data.
	// Example: {"secret": "c9209bee6df99315be1660dd215acde4aec89b8e5336039712fc11008d918b0d"}
	Metadata map[string]any `json:"metadata" yaml:"metadata"`

	// MayCancel tells whether DELETE cancels the operation.
	// Example: false
	MayCancel bool `json:"may_cancel" yaml:"may_cancel"`

	// Err is the failure message.
	// Example: image with same fingerprint already exists
	Err string `json:"err" yaml:"err"`

	// Location is the cluster member running the operation.
	// Example: none
	Location string `json:"location" yaml:"location"`
}
