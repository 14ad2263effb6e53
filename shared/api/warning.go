package api

import "time"

// Warning severities, from the least to the most serious.
const (
	WarningSeverityLow      = "low"
	WarningSeverityModerate = "moderate"
	WarningSeverityHigh     = "high"
)

// Warning statuses. A new warning is still happening and not looked at; an acknowledged one was seen by an
// operator; a resolved one stopped happening.
const (
	WarningStatusNew          = "new"
	WarningStatusAcknowledged = "acknowledged"
	WarningStatusResolved     = "resolved"
)

// Warning is a condition the server found that needs an operator's attention.
//
// API extension: warnings.
type Warning struct {
	WarningPut `yaml:",inline"`

	// UUID is the warning's identifier.
	// Example: e9e9da0d-2538-4351-8047-46d4a8ae4dbb
	UUID string `json:"uuid" yaml:"uuid"`

	// Location is the cluster member the warning occurred on (empty when not clustered).
	// Example: node1
	Location string `json:"location" yaml:"location"`

	// Project is the project the warning occurred in (empty for server-wide warnings).
	// Example: default
	Project string `json:"project" yaml:"project"`

	// Type is the kind of warning.
	// Example: AppArmor support has been disabled
	Type string `json:"type" yaml:"type"`

	// Count is how many times the warning occurred.
	// Example: 1
	Count int `json:"count" yaml:"count"`

	// FirstSeenAt is when the warning first occurred.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	FirstSeenAt time.Time `json:"first_seen_at" yaml:"first_seen_at"`

	// LastSeenAt is when the warning last occurred.
	// Example: 2021-03-23T17:38:37.753398689-04:00
	LastSeenAt time.Time `json:"last_seen_at" yaml:"last_seen_at"`

	// LastMessage is the message of the warning's last occurrence.
	// Example: Couldn't find the CGroup blkio.weight, disk priority will be ignored
	LastMessage string `json:"last_message" yaml:"last_message"`

	// Severity is how serious the warning is (low, moderate or high).
	// Example: low
	Severity string `json:"severity" yaml:"severity"`

	// EntityURL is the API path of the entity the warning is about (empty for the server itself).
	// Example: /1.0/instances/c1?project=default
	EntityURL string `json:"entity_url" yaml:"entity_url"`
}

// WarningPut is the writable part of a warning: its status, which a client may set to acknowledged or new.
//
// API extension: warnings.
type WarningPut struct {
	// Status is the warning's status: new, acknowledged or resolved (which only the server sets).
	// Example: new
	Status string `json:"status" yaml:"status"`
}
