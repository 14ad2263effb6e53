package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeDevices serves one instance and its profiles on a unix socket, checking ETags on writes as the daemon does.
type fakeDevices struct {
	mu       sync.Mutex
	etag     int
	inst     api.InstancePut
	profiles map[string]api.ProfilePut
	puts     int
}

func newFakeDevices(t *testing.T) *fakeDevices {
	t.Helper()
	f := &fakeDevices{
		inst: api.InstancePut{Profiles: []string{"default", "p1"}, Config: map[string]string{},
			Devices: map[string]map[string]string{"data": {"type": "disk", "source": "/srv", "path": "/mnt"}}},
		profiles: map[string]api.ProfilePut{
			"default": {Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}},
			"p1":      {Devices: map[string]map[string]string{"pd": {"type": "disk", "source": "/opt", "path": "/opt"}}},
		},
	}

	dir := t.TempDir()
	t.Setenv("LXD_DIR", dir)
	l, err := net.Listen("unix", filepath.Join(dir, "unix.socket"))
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

func (f *fakeDevices) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(typ string, code int, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", fmt.Sprintf("%q", fmt.Sprint(f.etag)))
		if typ == "async" {
			w.Header().Set("Location", "/1.0/operations/op1")
		}

		w.WriteHeader(code)
		env := map[string]any{"type": typ, "status": "Success", "status_code": 200, "metadata": md}
		if typ == "async" {
			env["status"], env["status_code"], env["operation"] = "Operation created", 100, "/1.0/operations/op1"
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg})
	}

	ifMatch := func() bool {
		if r.Header.Get("If-Match") != fmt.Sprintf("%q", fmt.Sprint(f.etag)) {
			fail(http.StatusPreconditionFailed, "ETag doesn't match")
			return false
		}

		return true
	}

	// A stand-in for the daemon's validation: gpu devices are refused.
	valid := func(devices map[string]map[string]string) bool {
		for name, dev := range devices {
			if dev["type"] == "gpu" {
				fail(http.StatusBadRequest, fmt.Sprintf("device %q: unsupported device type", name))
				return false
			}
		}

		return true
	}

	switch {
	case r.URL.Path == "/1.0":
		reply("sync", 200, map[string]any{"api_version": "1.0", "auth": "trusted", "api_extensions": []string{}})
	case r.URL.Path == "/1.0/instances/c1" && r.Method == http.MethodGet:
		expanded := map[string]map[string]string{}
		for _, p := range f.inst.Profiles {
			maps.Copy(expanded, f.profiles[p].Devices)
		}

		maps.Copy(expanded, f.inst.Devices)
		reply("sync", 200, api.Instance{InstancePut: f.inst, Name: "c1", ExpandedDevices: expanded})
	case r.URL.Path == "/1.0/instances/c1" && r.Method == http.MethodPut:
		var put api.InstancePut
		_ = json.NewDecoder(r.Body).Decode(&put)
		if !ifMatch() || !valid(put.Devices) {
			return
		}

		f.inst = put
		f.etag++
		f.puts++
		reply("async", http.StatusAccepted, api.Operation{ID: "op1", Status: "Success", StatusCode: api.Success})
	case strings.HasPrefix(r.URL.Path, "/1.0/profiles/"):
		name := strings.TrimPrefix(r.URL.Path, "/1.0/profiles/")
		p, ok := f.profiles[name]
		if !ok {
			fail(http.StatusNotFound, "profile not found")
			return
		}

		if r.Method == http.MethodGet {
			reply("sync", 200, api.Profile{ProfilePut: p, Name: name})
			return
		}

		var put api.ProfilePut
		_ = json.NewDecoder(r.Body).Decode(&put)
		if !ifMatch() || !valid(put.Devices) {
			return
		}

		f.profiles[name] = put
		f.etag++
		f.puts++
		reply("sync", 200, nil)
	default:
		fail(http.StatusNotFound, "not found")
	}
}

// runDeviceCmd runs one invocation of the config and profile commands against the local remote.
func runDeviceCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdConfig{global: global}).command())
	root.AddCommand((&cmdProfile{global: global}).command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

func TestDeviceCommands(t *testing.T) {
	f := newFakeDevices(t)
	data := map[string]string{"type": "disk", "source": "/srv", "path": "/mnt"}
	tests := []struct {
		args     string
		out      string
		errText  string
		devices  map[string]map[string]string
		profiles []string
		p1       map[string]map[string]string
	}{
		{args: "config device list c1", out: "data\n"},
		{args: "config device show c1", out: "data:\n  path: /mnt\n  source: /srv\n  type: disk\n"},
		{args: "config device get c1 data source", out: "/srv\n"},
		{args: "config device get c1 nope source", errText: `the device "nope" does not exist`},
		{args: "config device add c1 ro disk source=/etc path=/e readonly=true", out: "Device ro added to c1\n",
			devices: map[string]map[string]string{"data": data, "ro": {"type": "disk", "source": "/etc", "path": "/e", "readonly": "true"}}},
		{args: "config device add c1 ro disk source=/x path=/x", errText: `the device "ro" already exists`},
		{args: "config device add c1 g gpu", errText: "unsupported device type"},
		{args: "config device add c1 bad disk source", errText: "invalid key=value"},
		{args: "config device set c1 ro readonly=false path=/e2",
			devices: map[string]map[string]string{"data": data, "ro": {"type": "disk", "source": "/etc", "path": "/e2", "readonly": "false"}}},
		{args: "config device set c1 ro readonly true",
			devices: map[string]map[string]string{"data": data, "ro": {"type": "disk", "source": "/etc", "path": "/e2", "readonly": "true"}}},
		{args: "config device unset c1 ro readonly",
			devices: map[string]map[string]string{"data": data, "ro": {"type": "disk", "source": "/etc", "path": "/e2"}}},
		{args: "config device set c1 pd readonly=true", errText: "comes from a profile"},
		{args: "config device remove c1 pd", errText: "comes from a profile"},
		{args: "config device remove c1 nope", errText: `the device "nope" does not exist`},
		{args: "config device remove c1 ro data", out: "Device ro, data removed from c1\n",
			devices: map[string]map[string]string{}},
		{args: "config device override c1 pd readonly=true", out: "Device pd overridden for c1\n",
			devices: map[string]map[string]string{"pd": {"type": "disk", "source": "/opt", "path": "/opt", "readonly": "true"}}},
		{args: "config device override c1 pd", errText: `the device "pd" already exists`},
		{args: "config device override c1 root2", errText: `the profile device "root2" does not exist`},
		{args: "profile device add p1 extra disk source=/a path=/a", out: "Device extra added to p1\n",
			p1: map[string]map[string]string{"pd": {"type": "disk", "source": "/opt", "path": "/opt"}, "extra": {"type": "disk", "source": "/a", "path": "/a"}}},
		{args: "profile device list p1", out: "extra\npd\n"},
		{args: "profile device get p1 extra path", out: "/a\n"},
		{args: "profile device remove p1 extra", out: "Device extra removed from p1\n",
			p1: map[string]map[string]string{"pd": {"type": "disk", "source": "/opt", "path": "/opt"}}},
		{args: "profile device set p1 pd path=/o",
			p1: map[string]map[string]string{"pd": {"type": "disk", "source": "/opt", "path": "/o"}}},
		{args: "profile device override p1 pd", errText: "unknown command"},
		{args: "profile remove c1 p1", out: "Profile p1 removed from c1\n", profiles: []string{"default"}},
		{args: "profile remove c1 p1", errText: "profile p1 isn't currently applied to c1"},
		{args: "profile add c1 p1", out: "Profile p1 added to c1\n", profiles: []string{"default", "p1"}},
		{args: "profile add c1 p1", errText: "profile p1 is already applied to c1"},
		{args: "profile assign c1 p1,default", out: "Profiles p1,default applied to c1\n", profiles: []string{"p1", "default"}},
		{args: "profile assign c1 ", out: "Profiles (none) applied to c1\n", profiles: []string{}},
	}

	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			args := strings.Split(tt.args, " ")
			if strings.HasSuffix(tt.args, " ") {
				args = append(strings.Fields(tt.args), "")
			}

			f.mu.Lock()
			puts := f.puts
			f.mu.Unlock()
			out, err := runDeviceCmd(t, args...)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("got %v, want an error containing %q", err, tt.errText)
				}
			} else if err != nil {
				t.Fatalf("got %v\n%s", err, out)
			} else if tt.out != "" && out != tt.out {
				t.Fatalf("got output %q, want %q", out, tt.out)
			}

			f.mu.Lock()
			defer f.mu.Unlock()
			changed := tt.devices != nil || tt.profiles != nil || tt.p1 != nil
			if changed != (f.puts > puts) {
				t.Fatalf("got %d writes, want a change: %v", f.puts-puts, changed)
			}

			if tt.devices != nil && !reflect.DeepEqual(f.inst.Devices, tt.devices) {
				t.Fatalf("got devices %v, want %v", f.inst.Devices, tt.devices)
			}

			if tt.profiles != nil && !reflect.DeepEqual(f.inst.Profiles, tt.profiles) {
				t.Fatalf("got profiles %v, want %v", f.inst.Profiles, tt.profiles)
			}

			if tt.p1 != nil && !reflect.DeepEqual(f.profiles["p1"].Devices, tt.p1) {
				t.Fatalf("got p1 devices %v, want %v", f.profiles["p1"].Devices, tt.p1)
			}
		})
	}
}
