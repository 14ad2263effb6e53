package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// The errors of a bad document are LXD 5.0.2's, type names included.
func TestParsePreseedErrors(t *testing.T) {
	cases := map[string]string{
		"foo: bar":   "Failed to parse the preseed: yaml: unmarshal errors:\n  line 1: field foo not found in type api.InitPreseed",
		"config: [1": "Failed to parse the preseed: yaml: line 1: did not find expected ',' or ']'",
		"networks:\n- name: x\n  bogus: 1": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 3: field bogus not found in type api.InitNetworksProjectPost",
		"- a": "Failed to parse the preseed: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into api.InitPreseed",
		"profiles:\n- name: default\n  devices:\n    root: 5": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 4: cannot unmarshal !!int `5` into map[string]string",
		"networks: {}": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 1: cannot unmarshal !!map into []api.InitNetworksProjectPost",
		"config: {}\nconfig: {}": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 2: field config already set in type api.InitPreseed",
		"storage_volumes: []": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 1: field storage_volumes not found in type api.InitPreseed",
		"storage_pools:\n- name: p\n  source: /x": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 3: field source not found in type api.StoragePoolsPost",
		"cluster:\n  member_config:\n  - foo: 1": "Failed to parse the preseed: yaml: unmarshal errors:\n" +
			"  line 3: field foo not found in type api.ClusterMemberConfigKey",
	}

	for doc, want := range cases {
		_, err := parsePreseed([]byte(doc))
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}

func TestParsePreseed(t *testing.T) {
	doc := `config:
  images.auto_update_interval: 15
networks:
- name: br1
  type: bridge
  config:
    ipv4.nat: false
storage_pools:
- name: p1
  driver: dir
profiles:
- name: default
  devices:
    root: {path: /, pool: p1, type: disk}
projects:
- name: default
  description: d
cluster: null
`
	config, err := parsePreseed([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}

	if config.Cluster != nil || config.Node.Config["images.auto_update_interval"] != 15 {
		t.Fatalf("unexpected %+v", config)
	}

	if n := config.Node.Networks[0]; n.Name != "br1" || n.Type != "bridge" || n.Config["ipv4.nat"] != "false" || n.Project != "" {
		t.Fatalf("network %+v", n)
	}

	if config.Node.StoragePools[0].Driver != "dir" || config.Node.Profiles[0].Devices["root"]["pool"] != "p1" {
		t.Fatalf("pool or profile %+v", config.Node)
	}

	if config.Node.Projects[0].Description != "d" {
		t.Fatalf("project %+v", config.Node.Projects)
	}

	empty, err := parsePreseed(nil)
	if err != nil || empty.Node.Config != nil || empty.Cluster != nil {
		t.Fatalf("empty document: %+v, %v", empty, err)
	}
}

// The dump is byte for byte what LXD 5.0.2 prints for the same state (taken from its output).
func TestRenderDump(t *testing.T) {
	config := initLocalPreseed{
		Config: map[string]any{"images.auto_update_interval": "15", "core.https_address": "127.0.0.1:18443"},
		Networks: []initNetwork{{
			Config:      map[string]string{"ipv4.address": "10.99.1.1/24", "ipv6.address": "none"},
			Description: "My bridge", Name: "testbr0", Type: "bridge", Project: "default",
		}},
		StoragePools: []initStoragePool{{Config: map[string]string{"source": "/tmp/p"}, Name: "pool1", Driver: "dir"}},
		Profiles: []initProfile{{
			Config: map[string]string{"limits.cpu": "2", "user.multi": "a\nb", "user.note": "yes"}, Description: "second: profile",
			Devices: map[string]map[string]string{"eth0": {"type": "nic", "network": "testbr0", "name": "eth0"}}, Name: "p2",
		}},
		Projects: []initProject{{Config: map[string]string{"features.images": "true"}, Description: "Default LXD project", Name: "default"}},
	}

	want := `config:
  core.https_address: 127.0.0.1:18443
  images.auto_update_interval: "15"
networks:
- config:
    ipv4.address: 10.99.1.1/24
    ipv6.address: none
  description: My bridge
  name: testbr0
  type: bridge
  project: default
storage_pools:
- config:
    source: /tmp/p
  description: ""
  name: pool1
  driver: dir
profiles:
- config:
    limits.cpu: "2"
    user.multi: |-
      a
      b
    user.note: "yes"
  description: 'second: profile'
  devices:
    eth0:
      name: eth0
      network: testbr0
      type: nic
  name: p2
projects:
- config:
    features.images: "true"
  description: Default LXD project
  name: default

`
	var buf bytes.Buffer
	err := renderPreseed(&buf, config)
	if err != nil {
		t.Fatal(err)
	}

	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}

	// A fresh server: empty lists and maps as LXD prints them.
	buf.Reset()
	err = renderPreseed(&buf, initLocalPreseed{Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}

	if buf.String() != "config: {}\nnetworks: []\nstorage_pools: []\nprofiles: []\nprojects: []\n\n" {
		t.Fatalf("empty dump: %q", buf.String())
	}

	// The interactive mode prints the whole document, cluster included.
	buf.Reset()
	err = renderPreseed(&buf, &initPreseed{})
	if err != nil {
		t.Fatal(err)
	}

	if !strings.HasSuffix(buf.String(), "projects: []\ncluster: null\n\n") {
		t.Fatalf("interactive print: %q", buf.String())
	}
}

func TestMergeProfile(t *testing.T) {
	current := api.ProfilePut{
		Description: "Default LXD profile",
		Config:      map[string]string{"a": "1"},
		Devices:     map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "old"}},
	}

	got := mergeProfile(current, initProfile{
		Config:  map[string]string{"b": "2"},
		Devices: map[string]map[string]string{"root": {"pool": "new"}, "eth0": {"type": "nic", "network": "br"}},
	})

	if got.Description != "Default LXD profile" || got.Config["a"] != "1" || got.Config["b"] != "2" {
		t.Fatalf("config or description %+v", got)
	}

	if got.Devices["root"]["pool"] != "new" || got.Devices["root"]["path"] != "/" || got.Devices["eth0"]["network"] != "br" {
		t.Fatalf("devices %+v", got.Devices)
	}

	if current.Devices["root"]["pool"] != "old" {
		t.Fatal("the current profile was changed in place")
	}
}

func TestCanonicalAddress(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1": "127.0.0.1:8443", "::": "[::]:8443", "[::1]": "[::1]:8443", "10.0.0.1:9000": "10.0.0.1:9000",
	}

	for in, want := range cases {
		got := canonicalAddress(in, 8443)
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestCheckFlags(t *testing.T) {
	cases := []struct {
		c    cmdInit
		want string
	}{
		{cmdInit{flagAuto: true, flagPreseed: true}, "Can't use --auto and --preseed together"},
		{cmdInit{flagMinimal: true, flagAuto: true}, "Can't use --minimal and --auto together"},
		{cmdInit{flagDump: true, flagStorageBackend: "dir"}, "Configuration flags require --auto"},
		{cmdInit{flagDump: true, flagPreseed: true}, "Can't use --dump with other flags"},
	}

	for _, tc := range cases {
		tc.c.flagNetworkPort, tc.c.flagStorageLoop = -1, -1
		err := tc.c.checkFlags()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.c, err, tc.want)
		}
	}

	server := &api.Server{}
	server.Environment.StorageSupportedDrivers = []api.ServerStorageDriverInfo{{Name: "btrfs"}, {Name: "dir"}}
	autoCases := []struct {
		c    cmdInit
		want string
	}{
		{cmdInit{flagStorageBackend: "foo"}, "The requested backend 'foo' isn't supported by lxd init"},
		{cmdInit{flagStorageBackend: "zfs"}, "The requested backend 'zfs' isn't available on your system (missing tools)"},
		{cmdInit{flagStoragePool: "x"}, "None of --storage-pool, --storage-create-device or --storage-create-loop may be used with the 'dir' backend"},
		{cmdInit{flagStorageBackend: "btrfs", flagStorageLoop: 5, flagStorageDevice: "/dev/x"}, "Only one of --storage-create-device or --storage-create-loop can be specified"},
		{cmdInit{flagNetworkPort: 5}, "--network-port can't be used without --network-address"},
		{cmdInit{flagTrustPassword: "x"}, "--trust-password can't be used without --network-address"},
	}

	for _, tc := range autoCases {
		if tc.c.flagNetworkPort == 0 {
			tc.c.flagNetworkPort = -1
		}

		if tc.c.flagStorageLoop == 0 {
			tc.c.flagStorageLoop = -1
		}

		err := tc.c.checkAutoFlags(server)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.c, err, tc.want)
		}
	}
}

func TestAsker(t *testing.T) {
	var out, errOut bytes.Buffer
	a := &asker{in: bufio.NewReader(strings.NewReader("maybe\n\nabc\n70000\n22\n\nx\nsecret\nother\nsecret\nsecret\n")), out: &out, errOut: &errOut}

	b, err := a.askBool("Q1? ", "yes")
	if err != nil || !b {
		t.Fatalf("askBool: %v %v", b, err)
	}

	n, err := a.askInt("Port? ", 1, 65535, "8443")
	if err != nil || n != 22 {
		t.Fatalf("askInt: %v %v", n, err)
	}

	s, err := a.askString("Name: ", "", nil)
	if err != nil || s != "x" {
		t.Fatalf("askString: %q %v", s, err)
	}

	p, err := a.askPassword("Password: ")
	if err != nil || p != "secret" {
		t.Fatalf("askPassword: %q %v", p, err)
	}

	wantErr := "Invalid input, try again.\n\n" +
		"Invalid input: strconv.ParseInt: parsing \"abc\": invalid syntax\n\n" +
		"Invalid input: out of range\n\n" +
		"Invalid input, try again.\n\n" +
		"Invalid input, try again.\n\n"
	if errOut.String() != wantErr {
		t.Fatalf("errors: %q", errOut.String())
	}

	_, err = a.askBool("Q2? ", "no")
	if err == nil || err.Error() != "EOF" {
		t.Fatalf("end of input: %v", err)
	}
}
