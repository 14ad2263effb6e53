package network

import (
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Networks of projects. A project with features.networks holds networks of its own, apart from default's. LXD
// 5.0.2 lets such a project hold networks of the types that support projects only (OVN, its default type there);
// a bridge, the one type managed here, belongs to the default project. So a project with the feature holds no
// network on this server: it lists none and finds none, its instances' nics find no network= in it, a bridge is
// refused in it as LXD refuses one, and an OVN network as any type this server does not manage.

// DefaultProject is the project that holds the bridges.
const DefaultProject = "default"

// CheckCreateIn refuses the creation of req in project, the project whose networks the request reaches.
func CheckCreateIn(project string, req api.NetworksPost) error {
	if project == DefaultProject {
		return nil
	}

	if req.Type == "" || req.Type == "ovn" {
		return errs.Invalid("network type %q is not supported (only bridge is, in the default project)", "ovn")
	}

	return errs.Invalid("network type does not support non-default projects")
}
