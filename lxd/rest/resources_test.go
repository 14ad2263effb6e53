package rest

import (
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lxd-go/lxd/lxd/version"
	"github.com/lxd-go/lxd/shared/api"
)

func TestResourcesGet(t *testing.T) {
	e := newAPIEnv(t)
	var res api.Resources
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/resources", nil).metadata(t, &res)
	cpus, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*")
	if res.CPU.Total != uint64(len(cpus)) || res.CPU.Architecture == "" || len(res.CPU.Sockets) == 0 {
		t.Fatalf("got cpu %+v, sysfs lists %d threads", res.CPU, len(cpus))
	}

	if res.Memory.Total == 0 || res.Memory.Used > res.Memory.Total || res.System.Type == "" {
		t.Fatalf("got memory %+v and system %+v", res.Memory, res.System)
	}

	if res.GPU.Cards == nil || res.Network.Cards == nil || res.Storage.Disks == nil || res.USB.Devices == nil ||
		res.PCI.Devices == nil {
		t.Fatalf("got a null list in %+v", res)
	}

	// Untrusted callers may not see the hardware, and the endpoint takes GET only.
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/resources", nil, asClient(newClientCert(t)))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/resources", nil, withHeader("X-Test-Untrusted", "1"))
	e.expect(t, http.StatusMethodNotAllowed, http.MethodPut, "/1.0/resources", map[string]any{})

	for _, ext := range []string{"resources", "resources_v2", "resources_system", "resources_usb_pci"} {
		if !slices.Contains(version.APIExtensions, ext) {
			t.Errorf("API extension %q is not listed", ext)
		}
	}
}
