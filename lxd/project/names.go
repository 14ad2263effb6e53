package project

import (
	"net/url"
	"strings"
)

// Objects of a project other than default are known to the daemon by a key that holds the project: the database
// rows, the locks, the storage and liblxc all use it, so that two projects may each have an instance c1. The API
// shows the name and the project apart; the edge makes the key of a request's name and project.
//
// An instance's key is "<project>_<name>", as LXD names instances on disk and in liblxc: neither instance nor project
// names may hold an underscore, so a key of default's (the bare name) never has one. A profile's key is
// "<project>/<name>": profile names may hold underscores but not slashes.

// InstanceKey is the key of instance (or snapshot "instance/snap") name of project p.
func InstanceKey(p string, name string) string {
	if p == "" || p == Default {
		return name
	}

	return p + "_" + name
}

// SplitInstanceKey returns the project and name of an instance key.
func SplitInstanceKey(key string) (string, string) {
	p, name, ok := strings.Cut(key, "_")
	if !ok {
		return Default, key
	}

	return p, name
}

// InstanceName is the name the API shows for an instance key.
func InstanceName(key string) string {
	_, name := SplitInstanceKey(key)
	return name
}

// InstanceProject is the project of an instance key.
func InstanceProject(key string) string {
	p, _ := SplitInstanceKey(key)
	return p
}

// DNSName is the host name of an instance key in its network's DNS and DHCP: the name itself in default,
// "<name>.<project>" elsewhere, as LXD names them (an underscore is no host name).
func DNSName(key string) string {
	p, name := SplitInstanceKey(key)
	if p == Default {
		return name
	}

	return name + "." + p
}

// ProfileKey is the key of profile name of project p.
func ProfileKey(p string, name string) string {
	if p == "" || p == Default {
		return name
	}

	return p + "/" + name
}

// SplitProfileKey returns the project and name of a profile key.
func SplitProfileKey(key string) (string, string) {
	p, name, ok := strings.Cut(key, "/")
	if !ok {
		return Default, key
	}

	return p, name
}

// ProfileName is the name the API shows for a profile key.
func ProfileName(key string) string {
	_, name := SplitProfileKey(key)
	return name
}

// WithProject adds ?project=p to an API path of an object of project p other than default, as LXD writes them.
func WithProject(path string, p string) string {
	if p == "" || p == Default {
		return path
	}

	return path + "?project=" + url.QueryEscape(p)
}

// InstanceURL is the API path of an instance key, with its project.
func InstanceURL(key string) string {
	p, name := SplitInstanceKey(key)
	return WithProject("/1.0/instances/"+url.PathEscape(name), p)
}

// ProfileURL is the API path of a profile key, with its project.
func ProfileURL(key string) string {
	p, name := SplitProfileKey(key)
	return WithProject("/1.0/profiles/"+url.PathEscape(name), p)
}

// OfPath returns the project an API path names with ?project=, default when it names none.
func OfPath(path string) string {
	_, query, ok := strings.Cut(path, "?")
	if !ok {
		return Default
	}

	v, err := url.ParseQuery(query)
	if err != nil || v.Get("project") == "" {
		return Default
	}

	return v.Get("project")
}
