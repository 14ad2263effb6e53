package rest

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/version"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
	sharedversion "github.com/lxd-go/lxd/shared/version"
)

var rootCmd = Endpoint{
	Get: Action{Handler: rootGet, AllowUntrusted: true},
}

var serverCmd = Endpoint{
	Get:   Action{Handler: serverGet, AllowUntrusted: true},
	Put:   Action{Handler: serverPut, Access: allowTrusted},
	Patch: Action{Handler: serverPatch, Access: allowTrusted},
}

func rootGet(s *state.State, r *http.Request) response.Response {
	return response.SyncResponse([]string{"/1.0"})
}

func serverUntrusted(req *request.Requestor) api.ServerUntrusted {
	auth := "untrusted"
	if req.Trusted {
		auth = "trusted"
	}

	return api.ServerUntrusted{
		APIExtensions: version.APIExtensions,
		APIStatus:     "stable",
		APIVersion:    sharedversion.APIVersion,
		Auth:          auth,
		Public:        false,
		AuthMethods:   []string{"tls"},
	}
}

func serverGet(s *state.State, r *http.Request) response.Response {
	req := request.GetRequestor(r)
	if !req.Trusted {
		return response.SyncResponse(serverUntrusted(req))
	}

	cfg := s.Config().Render()
	if req.Restricted {
		// The server's configuration is for unrestricted clients, as on LXD.
		cfg = map[string]any{}
	}

	srv := api.Server{
		ServerPut:       api.ServerPut{Config: cfg},
		ServerUntrusted: serverUntrusted(req),
		Environment:     serverEnvironment(r.Context(), s),
	}

	// The server belongs to no project; LXD names the one the request was sent for.
	srv.Environment.Project = requestProject(r)
	return response.SyncResponseETag(srv, cfg)
}

func serverPut(s *state.State, r *http.Request) response.Response {
	return serverUpdate(s, r, true)
}

func serverPatch(s *state.State, r *http.Request) response.Response {
	return serverUpdate(s, r, false)
}

// serverUpdate applies a PUT (replace) or PATCH (merge) of the server configuration.
func serverUpdate(s *state.State, r *http.Request, replace bool) response.Response {
	defer lockUpdate("server", "")()
	resp := checkETag(r, s.Config().Render())
	if resp != nil {
		return resp
	}

	var req api.ServerPut
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.UpdateConfig(r.Context(), req.Config, replace)
	if err != nil {
		return response.SmartError(err)
	}

	return response.EmptySyncResponse
}

func serverEnvironment(ctx context.Context, s *state.State) api.ServerEnvironment {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	kernelArch := unix.ByteSliceToString(uts.Machine[:])
	hostname, _ := os.Hostname()
	osName, osVersion := osRelease()

	env := api.ServerEnvironment{
		Addresses:               s.HTTPSAddresses(),
		Architectures:           osarch.HostArchitectures(),
		Certificate:             s.Server.Certificate(),
		CertificateFingerprint:  s.Server.Fingerprint(),
		Driver:                  "lxc",
		Firewall:                "",
		Kernel:                  unix.ByteSliceToString(uts.Sysname[:]),
		KernelArchitecture:      kernelArch,
		KernelFeatures:          map[string]string{},
		KernelVersion:           unix.ByteSliceToString(uts.Release[:]),
		LXCFeatures:             map[string]string{},
		OSName:                  osName,
		OSVersion:               osVersion,
		Project:                 DefaultProject,
		Server:                  "lxd",
		ServerEventMode:         "full-mesh",
		ServerName:              hostname,
		ServerPid:               s.Server.PID,
		ServerVersion:           sharedversion.Version,
		StorageSupportedDrivers: storage.Drivers(),
	}

	if s.Cluster != nil && s.Cluster.Clustered() {
		env.ServerClustered = true
		env.ServerName = s.Cluster.Name()
	}

	env.Storage, env.StorageVersion = storageInUse(ctx, s)
	if s.Networks != nil {
		env.Firewall = "nftables"
	}

	return env
}

// storageInUse names the drivers of the server's pools and their versions, each list joined with " | " as LXD
// joins them.
func storageInUse(ctx context.Context, s *state.State) (string, string) {
	if s.Storage == nil {
		return "", ""
	}

	inUse, err := s.Storage.DriversInUse(ctx)
	if err != nil {
		return "", ""
	}

	var names, versions []string
	for _, d := range inUse {
		names = append(names, d.Name)
		versions = append(versions, d.Version)
	}

	return strings.Join(names, " | "), strings.Join(versions, " | ")
}

// osRelease reads NAME and VERSION_ID from /etc/os-release.
func osRelease() (string, string) {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS, ""
	}

	var name, ver string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}

		v = strings.Trim(v, `"`)
		switch k {
		case "NAME":
			name = v
		case "VERSION_ID":
			ver = v
		}
	}

	return name, ver
}
