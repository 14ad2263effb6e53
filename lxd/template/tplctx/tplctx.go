// Package tplctx holds the context an image template is rendered with: plain values, so that code building it
// (lxd/instance) does not depend on the template engine, lxd/template, which renders it.
package tplctx

// Instance describes the instance a template is rendered for. Templates see it as both container and instance
// (name, architecture, privileged, ephemeral).
type Instance struct {
	Name         string
	Architecture string
	Privileged   bool
	Ephemeral    bool
}

// Context is everything a template can see, as LXD provides it: trigger, path, container (and instance), config,
// devices, properties and config_get(key, default).
type Context struct {
	// Trigger is create, copy, start or rename.
	Trigger string

	// Path is the target path inside the instance.
	Path string

	Instance Instance

	// Config is the instance's expanded configuration.
	Config map[string]string

	// Devices are the instance's expanded devices.
	Devices map[string]map[string]string

	// Properties are the template's own properties from metadata.yaml.
	Properties map[string]string
}
