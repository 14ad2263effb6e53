package client_test

import (
	"net/http"
	"testing"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// TestUseProjectAgainstDaemon drives a daemon, which has only the default project, through connections in
// another project, in default and in none.
func TestUseProjectAgainstDaemon(t *testing.T) {
	_, c := startDaemon(t)
	foo := c.UseProject("foo")

	names, err := foo.GetInstanceNames()
	if err != nil || len(names) != 0 {
		t.Fatalf("instances in project foo: got %v, %v; want an empty list", names, err)
	}

	notFound := func(what string, err error) {
		t.Helper()
		if !api.StatusErrorCheck(err, http.StatusNotFound) || err.Error() != "project not found" {
			t.Fatalf("%s in project foo: got %v, want 404 project not found", what, err)
		}
	}

	_, err = foo.GetProfiles()
	notFound("profiles", err)
	_, err = foo.GetImages()
	notFound("images", err)
	err = foo.CreateProfile(api.ProfilesPost{Name: "p1"})
	notFound("creating a profile", err)
	_, err = foo.CreateInstance(api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "none"}})
	notFound("creating an instance", err)
	_, err = foo.GetEvents()
	notFound("events", err)

	srv, _, err := foo.GetServer()
	if err != nil || srv.Environment.Project != "foo" {
		t.Fatalf("GET /1.0 in project foo: got %+v, %v; want the project named", srv, err)
	}

	// Raw queries name no project: the profile list is default's.
	var urls []string
	resp, _, err := foo.RawQuery(http.MethodGet, "/1.0/profiles", nil, "")
	if err == nil {
		err = resp.MetadataAsStruct(&urls)
	}

	if err != nil || len(urls) != 1 {
		t.Fatalf("raw GET /1.0/profiles: got %v, %v; want the default profile", urls, err)
	}

	// Nothing was created, and the connection it came from is unchanged.
	for _, d := range []client.InstanceServer{c, c.UseProject("default"), foo.UseProject("")} {
		profiles, err := d.GetProfileNames()
		if err != nil || len(profiles) != 1 || profiles[0] != "default" {
			t.Fatalf("profiles: got %v, %v; want default alone", profiles, err)
		}
	}

	err = c.UseProject("default").CreateProfile(api.ProfilesPost{Name: "p1"})
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetProfile("p1")
	if err != nil {
		t.Fatalf("a profile created in project default: %v", err)
	}

	listener, err := c.UseProject("default").GetEvents()
	if err != nil {
		t.Fatalf("events in project default: %v", err)
	}

	listener.Disconnect()
}
