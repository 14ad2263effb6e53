package rest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// profilesStored is what the profile tests compare before and after a refused request.
var profilesStored = []string{"/1.0/profiles?recursion=1"}

// getProfile returns a profile and its ETag.
func getProfile(t *testing.T, e *apiEnv, name string) (api.Profile, string) {
	t.Helper()
	res := e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles/"+name, nil)
	var p api.Profile
	res.metadata(t, &p)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("GET /1.0/profiles/%s: no ETag", name)
	}

	return p, etag
}

// listProfiles returns the profile URLs.
func listProfiles(t *testing.T, e *apiEnv) []string {
	t.Helper()
	var urls []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles", nil).metadata(t, &urls)
	return urls
}

// useProfiles records an instance using profiles, as the instance manager stores it. The driver of apiEnv runs
// nothing, so the instance is stopped.
func useProfiles(t *testing.T, e *apiEnv, name string, profiles ...string) {
	t.Helper()
	err := e.State.DB.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateInstance(ctx, db.Instance{Name: name, Type: "container", Architecture: "x86_64",
			CreatedAt: time.Now(), Profiles: profiles})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

var rootDisk = map[string]string{"type": "disk", "path": "/", "pool": "default"}

func TestProfilesCreateListGetDelete(t *testing.T) {
	e := newAPIEnv(t)

	// A new server has the default profile, with a root disk on the default pool.
	if urls := listProfiles(t, e); len(urls) != 1 || urls[0] != "/1.0/profiles/default" {
		t.Fatalf("got %v on a new server, want only the default profile", urls)
	}

	def, _ := getProfile(t, e, "default")
	if def.Name != "default" || def.Devices["root"]["path"] != "/" || def.Devices["root"]["pool"] != "default" ||
		def.UsedBy == nil || len(def.UsedBy) != 0 {
		t.Fatalf("got %+v, want the default profile with a root disk and no user", def)
	}

	res := e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", api.ProfilesPost{
		Name: "web",
		ProfilePut: api.ProfilePut{
			Description: "Web servers",
			Config:      map[string]string{"limits.cpu": "2", "user.role": "web"},
			Devices:     map[string]map[string]string{"root": rootDisk},
		},
	})
	if res.Header.Get("Location") != "/1.0/profiles/web" {
		t.Fatalf("got Location %q, want /1.0/profiles/web", res.Header.Get("Location"))
	}

	// A profile without config or devices shows empty maps, not null.
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", map[string]any{"name": "bare"})
	bare, _ := getProfile(t, e, "bare")
	if bare.Config == nil || bare.Devices == nil || len(bare.Config) != 0 || len(bare.Devices) != 0 {
		t.Fatalf("got %+v, want empty config and devices", bare)
	}

	urls := listProfiles(t, e)
	if strings.Join(urls, " ") != "/1.0/profiles/bare /1.0/profiles/default /1.0/profiles/web" {
		t.Fatalf("got %v, want the three profiles", urls)
	}

	var full []api.Profile
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles?recursion=1", nil).metadata(t, &full)
	if len(full) != 3 {
		t.Fatalf("got %d profiles in full, want 3", len(full))
	}

	web, _ := getProfile(t, e, "web")
	if web.Description != "Web servers" || web.Config["limits.cpu"] != "2" || web.Config["user.role"] != "web" ||
		web.Devices["root"]["pool"] != "default" {
		t.Fatalf("got %+v, want the profile as created", web)
	}

	// A second profile of the same name is a conflict.
	before := e.snapshot(t, profilesStored...)
	res = e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/profiles", map[string]any{"name": "web"})
	if !strings.Contains(res.Env.Error, "already exists") {
		t.Fatalf("got error %q, want the profile to exist already", res.Env.Error)
	}

	if after := e.snapshot(t, profilesStored...); after != before {
		t.Fatalf("a refused create changed the profiles:\nbefore %s\nafter %s", before, after)
	}

	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/profiles/bare", nil)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/profiles/bare", nil)
	e.expect(t, http.StatusNotFound, http.MethodDelete, "/1.0/profiles/bare", nil)
	if urls := listProfiles(t, e); len(urls) != 2 {
		t.Fatalf("got %v after the delete, want two profiles", urls)
	}
}

func TestProfilePutPatch(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", api.ProfilesPost{
		Name: "p1",
		ProfilePut: api.ProfilePut{
			Description: "one",
			Config:      map[string]string{"user.a": "1", "user.b": "2"},
			Devices:     map[string]map[string]string{"root": rootDisk},
		},
	})
	url := "/1.0/profiles/p1"
	_, etag := getProfile(t, e, "p1")

	// A stale ETag refuses the update and changes nothing.
	before := e.snapshot(t, profilesStored...)
	put := api.ProfilePut{Description: "two", Config: map[string]string{"user.c": "3"}}
	res := e.expect(t, http.StatusPreconditionFailed, http.MethodPut, url, put, withHeader("If-Match", `"deadbeef"`))
	if !strings.Contains(res.Env.Error, "ETag doesn't match") {
		t.Fatalf("got error %q, want an ETag mismatch", res.Env.Error)
	}

	if after := e.snapshot(t, profilesStored...); after != before {
		t.Fatalf("a PUT with a stale ETag changed the profile:\nbefore %s\nafter %s", before, after)
	}

	// PUT replaces everything: the root disk left out is gone (the profile has no user).
	e.expect(t, http.StatusOK, http.MethodPut, url, put, withHeader("If-Match", etag))
	p, newETag := getProfile(t, e, "p1")
	if p.Description != "two" || len(p.Config) != 1 || p.Config["user.c"] != "3" || len(p.Devices) != 0 ||
		newETag == etag {
		t.Fatalf("got %+v with ETag %s (was %s), want the profile replaced and a new ETag", p, newETag, etag)
	}

	e.expect(t, http.StatusPreconditionFailed, http.MethodPatch, url, map[string]any{"description": "x"},
		withHeader("If-Match", etag))

	// PATCH merges config and devices, and keeps the description when it is not given.
	e.expect(t, http.StatusOK, http.MethodPatch, url, map[string]any{
		"config":  map[string]string{"user.d": "4"},
		"devices": map[string]map[string]string{"root": rootDisk},
	}, withHeader("If-Match", newETag))
	p, _ = getProfile(t, e, "p1")
	if p.Description != "two" || p.Config["user.c"] != "3" || p.Config["user.d"] != "4" || p.Devices["root"]["path"] != "/" {
		t.Fatalf("got %+v after PATCH, want the old and the new keys, and the root disk", p)
	}
}

func TestProfileRename(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", map[string]any{
		"name": "old", "description": "mine", "config": map[string]string{"user.k": "v"},
	})
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", map[string]any{"name": "taken"})

	res := e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles/old", api.ProfilePost{Name: "new"})
	if res.Header.Get("Location") != "/1.0/profiles/new" {
		t.Fatalf("got Location %q, want /1.0/profiles/new", res.Header.Get("Location"))
	}

	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/profiles/old", nil)
	p, _ := getProfile(t, e, "new")
	if p.Name != "new" || p.Description != "mine" || p.Config["user.k"] != "v" {
		t.Fatalf("got %+v, want the renamed profile with its content", p)
	}

	before := e.snapshot(t, profilesStored...)
	tests := []struct {
		name string
		path string
		body any
		code int
	}{
		{"to an existing name", "/1.0/profiles/new", map[string]any{"name": "taken"}, http.StatusConflict},
		{"to an invalid name", "/1.0/profiles/new", map[string]any{"name": "a/b"}, http.StatusBadRequest},
		{"to an empty name", "/1.0/profiles/new", map[string]any{"name": ""}, http.StatusBadRequest},
		{"not JSON", "/1.0/profiles/new", "{", http.StatusBadRequest},
		{"unknown profile", "/1.0/profiles/nope", map[string]any{"name": "other"}, http.StatusNotFound},
		{"the default profile", "/1.0/profiles/default", map[string]any{"name": "other"}, http.StatusBadRequest},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.expect(t, tt.code, http.MethodPost, tt.path, tt.body)
			if after := e.snapshot(t, profilesStored...); after != before {
				t.Fatalf("a refused rename changed the profiles:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

func TestDefaultProfileProtections(t *testing.T) {
	e := newAPIEnv(t)
	before := e.snapshot(t, profilesStored...)
	res := e.expect(t, http.StatusBadRequest, http.MethodDelete, "/1.0/profiles/default", nil)
	if !strings.Contains(res.Env.Error, "cannot be deleted") {
		t.Fatalf("got error %q, want the default profile to be undeletable", res.Env.Error)
	}

	res = e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/profiles/default", map[string]any{"name": "x"})
	if !strings.Contains(res.Env.Error, "cannot be renamed") {
		t.Fatalf("got error %q, want the default profile to keep its name", res.Env.Error)
	}

	if after := e.snapshot(t, profilesStored...); after != before {
		t.Fatalf("a refused request changed the default profile:\nbefore %s\nafter %s", before, after)
	}

	// Its content may change, the root disk included while no instance uses it.
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/profiles/default", map[string]any{"description": "changed"})
	def, _ := getProfile(t, e, "default")
	if def.Description != "changed" || def.Devices["root"]["path"] != "/" {
		t.Fatalf("got %+v, want the new description and the root disk kept", def)
	}
}

func TestProfileInUse(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", map[string]any{
		"name": "extra", "config": map[string]string{"user.x": "1"},
	})
	useProfiles(t, e, "c1", "default", "extra")
	useProfiles(t, e, "c2", "default")

	extra, _ := getProfile(t, e, "extra")
	def, _ := getProfile(t, e, "default")
	if strings.Join(extra.UsedBy, " ") != "/1.0/instances/c1" ||
		strings.Join(def.UsedBy, " ") != "/1.0/instances/c1 /1.0/instances/c2" {
		t.Fatalf("got used_by %v and %v, want c1, and c1 and c2", extra.UsedBy, def.UsedBy)
	}

	before := e.snapshot(t, profilesStored...)
	res := e.expect(t, http.StatusBadRequest, http.MethodDelete, "/1.0/profiles/extra", nil)
	if !strings.Contains(res.Env.Error, "in use") {
		t.Fatalf("got error %q, want the profile in use", res.Env.Error)
	}

	// The profile of the instances' root disk must keep it.
	res = e.expect(t, http.StatusBadRequest, http.MethodPut, "/1.0/profiles/default", map[string]any{
		"description": "no root", "devices": map[string]any{},
	})
	if !strings.Contains(res.Env.Error, "root disk") {
		t.Fatalf("got error %q, want the root disk kept", res.Env.Error)
	}

	if after := e.snapshot(t, profilesStored...); after != before {
		t.Fatalf("a refused request changed a profile in use:\nbefore %s\nafter %s", before, after)
	}

	// Other changes to a profile in use apply (the instances are stopped: nothing to hot-plug).
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/profiles/extra", map[string]any{
		"config": map[string]string{"user.y": "2"},
	})
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/profiles/default", map[string]any{"description": "still root"})
	extra, _ = getProfile(t, e, "extra")
	if extra.Config["user.x"] != "1" || extra.Config["user.y"] != "2" {
		t.Fatalf("got %+v, want both keys", extra)
	}

	// Once its instance is gone, the profile can be deleted.
	err := e.State.DB.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteInstance(ctx, "c1")
	})
	if err != nil {
		t.Fatal(err)
	}

	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/profiles/extra", nil)
}

func TestProfilesBadInput(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles", map[string]any{
		"name": "p1", "config": map[string]string{"user.a": "1"},
	})
	p1 := "/1.0/profiles/p1"

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		code   int
	}{
		{"empty body", http.MethodPost, "/1.0/profiles", "", http.StatusBadRequest},
		{"not JSON", http.MethodPost, "/1.0/profiles", "{", http.StatusBadRequest},
		{"trailing data", http.MethodPost, "/1.0/profiles", `{"name": "p2"} x`, http.StatusBadRequest},
		{"wrong field type", http.MethodPost, "/1.0/profiles", `{"name": 1}`, http.StatusBadRequest},
		{"config value not a string", http.MethodPost, "/1.0/profiles", `{"name": "p2", "config": {"user.a": 1}}`,
			http.StatusBadRequest},
		{"no name", http.MethodPost, "/1.0/profiles", map[string]any{"config": map[string]string{}},
			http.StatusBadRequest},
		{"name with a slash", http.MethodPost, "/1.0/profiles", map[string]any{"name": "a/b"}, http.StatusBadRequest},
		{"name with a space", http.MethodPost, "/1.0/profiles", map[string]any{"name": "a b"}, http.StatusBadRequest},
		{"name ..", http.MethodPost, "/1.0/profiles", map[string]any{"name": ".."}, http.StatusBadRequest},
		{"name too long", http.MethodPost, "/1.0/profiles", map[string]any{"name": strings.Repeat("a", 64)},
			http.StatusBadRequest},
		{"the default name", http.MethodPost, "/1.0/profiles", map[string]any{"name": "default"}, http.StatusConflict},
		{"unknown key", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "config": map[string]string{"bogus.key": "1"}}, http.StatusBadRequest},
		{"volatile key", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "config": map[string]string{"volatile.base_image": "x"}}, http.StatusBadRequest},
		{"bad value", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "config": map[string]string{"limits.cpu": "0"}}, http.StatusBadRequest},
		{"device without type", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "devices": map[string]any{"d": map[string]string{"path": "/x"}}},
			http.StatusBadRequest},
		{"root disk without pool", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "devices": map[string]any{"root": map[string]string{"type": "disk", "path": "/"}}},
			http.StatusBadRequest},
		{"two root disks", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "devices": map[string]any{"r1": rootDisk, "r2": rootDisk}},
			http.StatusBadRequest},
		{"unsupported nic", http.MethodPost, "/1.0/profiles",
			map[string]any{"name": "p2", "devices": map[string]any{"eth0": map[string]string{"type": "nic", "nictype": "macvlan"}}},
			http.StatusBadRequest},
		{"put not JSON", http.MethodPut, p1, "[]", http.StatusBadRequest},
		{"put unknown key", http.MethodPut, p1, map[string]any{"config": map[string]string{"nope": "1"}},
			http.StatusBadRequest},
		{"put bad device", http.MethodPut, p1, map[string]any{"devices": map[string]any{"x": map[string]string{"type": "gpu"}}},
			http.StatusBadRequest},
		{"patch not JSON", http.MethodPatch, p1, "{", http.StatusBadRequest},
		{"patch bad value", http.MethodPatch, p1, map[string]any{"config": map[string]string{"limits.memory": "lots"}},
			http.StatusBadRequest},
		{"get unknown", http.MethodGet, "/1.0/profiles/nope", nil, http.StatusNotFound},
		{"put unknown", http.MethodPut, "/1.0/profiles/nope", map[string]any{}, http.StatusNotFound},
		{"patch unknown", http.MethodPatch, "/1.0/profiles/nope", map[string]any{}, http.StatusNotFound},
		{"delete unknown", http.MethodDelete, "/1.0/profiles/nope", nil, http.StatusNotFound},
	}

	before := e.snapshot(t, profilesStored...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.expect(t, tt.code, tt.method, tt.path, tt.body)
			if after := e.snapshot(t, profilesStored...); after != before {
				t.Fatalf("a refused request changed the profiles:\nbefore %s\nafter %s", before, after)
			}
		})
	}

	// Untrusted callers may not read or change anything.
	stranger := asClient(newClientCert(t))
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/1.0/profiles"}, {http.MethodPost, "/1.0/profiles"}, {http.MethodGet, p1},
		{http.MethodPut, p1}, {http.MethodPatch, p1}, {http.MethodPost, p1}, {http.MethodDelete, p1},
	} {
		e.expect(t, http.StatusForbidden, req.method, req.path, map[string]any{"name": "x"}, stranger)
	}

	if after := e.snapshot(t, profilesStored...); after != before {
		t.Fatalf("an untrusted caller changed the profiles:\nbefore %s\nafter %s", before, after)
	}
}
