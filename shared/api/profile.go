package api

// ProfilePut is the writable part of a profile.
type ProfilePut struct {
	// Config holds instance configuration keys.
	// Example: {"limits.cpu": "4"}
	Config map[string]string `json:"config" yaml:"config"`

	// Description is free text.
	// Example: Medium size instances
	Description string `json:"description" yaml:"description"`

	// Devices keyed by device name.
	// Example: {"root": {"type": "disk", "pool": "default", "path": "/"}}
	Devices map[string]map[string]string `json:"devices" yaml:"devices"`
}

// Profile is a profile as the API shows it.
type Profile struct {
	ProfilePut `yaml:",inline"`

	// Name of the profile.
	// Example: default
	Name string `json:"name" yaml:"name"`

	// UsedBy lists the instances using the profile.
	// Example: ["/1.0/instances/c1"]
	UsedBy []string `json:"used_by" yaml:"used_by"`
}

// Writable returns the writable part of the profile.
func (p Profile) Writable() ProfilePut {
	return p.ProfilePut
}

// ProfilesPost creates a profile.
type ProfilesPost struct {
	ProfilePut `yaml:",inline"`

	// Name of the new profile.
	// Example: default
	Name string `json:"name" yaml:"name"`
}

// ProfilePost renames a profile.
type ProfilePost struct {
	// Name is the new name.
	// Example: medium
	Name string `json:"name" yaml:"name"`
}
