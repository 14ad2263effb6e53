package api

// InstanceConsolePost attaches to the console of an instance.
//
// API extension: console.
type InstanceConsolePost struct {
	// Width of the terminal.
	// Example: 80
	Width int `json:"width" yaml:"width"`

	// Height of the terminal.
	// Example: 25
	Height int `json:"height" yaml:"height"`

	// Type of console: console (the only one a container has).
	// Example: console
	Type string `json:"type" yaml:"type"`
}
