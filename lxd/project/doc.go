// Package project owns the projects: their rows, the rules for their names and configuration, what each project
// holds (used_by), and the resources it uses against its limits.
//
// Every instance, image, profile, network and storage volume belongs to the default project; other projects can
// be created, configured, renamed and deleted, and hold nothing.
package project
