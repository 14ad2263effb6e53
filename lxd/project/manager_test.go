package project

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

func newManager(t *testing.T) (*Manager, *db.DB) {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	return NewManager(ManagerArgs{DB: d}), d
}

func wantClass(t *testing.T, what string, err error, class error, text string) {
	t.Helper()
	if !errors.Is(err, class) || !strings.Contains(err.Error(), text) {
		t.Fatalf("%s: got %v, want %v containing %q", what, err, class, text)
	}
}

func TestDefaultProject(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	p, err := m.Get(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"features.images": "true", "features.profiles": "true",
		"features.storage.volumes": "true", "features.networks": "true"}
	if p.Description != "Default LXD project" || len(p.Config) != len(want) {
		t.Fatalf("got %+v, want the default project as LXD shows it", p)
	}

	for k, v := range want {
		if p.Config[k] != v {
			t.Errorf("%s: got %q, want %q", k, p.Config[k], v)
		}
	}

	wantClass(t, "rename default", m.Rename(ctx, "default", "x"), errs.ErrForbidden, "cannot be renamed")
	wantClass(t, "delete default", m.Delete(ctx, "default"), errs.ErrForbidden, "cannot be deleted")
	put := p.Writable()
	put.Config = map[string]string{"features.images": "false"}
	wantClass(t, "features of default", m.Update(ctx, "default", put), errs.ErrInvalid, "features of the default project")
}

func TestCreateNames(t *testing.T) {
	m, d := newManager(t)
	ctx := context.Background()
	for _, name := range []string{"", "a/b", "a b", "a_b", "a'b", `a"b`, "*", ".", ".."} {
		err := m.Create(ctx, api.ProjectsPost{Name: name})
		wantClass(t, "name "+name, err, errs.ErrInvalid, "")
	}

	err := m.Create(ctx, api.ProjectsPost{Name: "p1"})
	if err != nil {
		t.Fatal(err)
	}

	wantClass(t, "duplicate", m.Create(ctx, api.ProjectsPost{Name: "p1"}), errs.ErrConflict, "already exists")
	p, err := m.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}

	if p.Config["features.images"] != "true" || p.Config["features.profiles"] != "true" ||
		p.Config["features.storage.volumes"] != "true" || p.Config["features.networks"] != "" {
		t.Fatalf("got config %v, want the default features of a new project", p.Config)
	}

	// Its own default profile, without devices, as LXD gives a project with features.profiles.
	if !slices.Equal(p.UsedBy, []string{"/1.0/profiles/default?project=p1"}) {
		t.Fatalf("got used_by %v, want the project's default profile", p.UsedBy)
	}

	// A project without features.profiles has none; turning the feature on while empty gives it one, and a
	// rename or deletion takes it along.
	err = m.Create(ctx, api.ProjectsPost{Name: "p2", ProjectPut: api.ProjectPut{Config: map[string]string{"features.profiles": "false"}}})
	if err != nil {
		t.Fatal(err)
	}

	p, err = m.Get(ctx, "p2")
	if err != nil || len(p.UsedBy) != 0 {
		t.Fatalf("got %v, %v; want a project holding nothing", p, err)
	}

	err = m.Update(ctx, "p2", api.ProjectPut{Config: map[string]string{"features.profiles": "true"}})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Rename(ctx, "p2", "p3")
	if err != nil {
		t.Fatal(err)
	}

	p, err = m.Get(ctx, "p3")
	if err != nil || !slices.Equal(p.UsedBy, []string{"/1.0/profiles/default?project=p3"}) {
		t.Fatalf("got %v, %v; want the renamed project's default profile", p, err)
	}

	err = m.Delete(ctx, "p3")
	if err != nil {
		t.Fatal(err)
	}

	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.GetProfile(ctx, ProfileKey("p3", "default"))
		return err
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the deleted project's default profile: got %v, want not found", err)
	}
}

func TestConfigKeys(t *testing.T) {
	good := []map[string]string{
		{"limits.containers": "5"}, {"limits.memory": "1GiB"}, {"user.foo": "bar"}, {"restricted": "true"},
		{"restricted.containers.privilege": "isolated"}, {"restricted.devices.nic": "managed"},
		{"features.networks": "false"}, {"limits.cpu": ""},
	}

	for _, c := range good {
		err := ValidateConfig(c)
		if err != nil {
			t.Errorf("%v: got %v, want accepted", c, err)
		}
	}

	bad := []map[string]string{
		{"foo": "bar"}, {"limits.containers": "-1"}, {"limits.memory": "lots"}, {"restricted": "maybe"},
		{"restricted.devices.nic": "sometimes"}, {"features.images": "yes please"}, {"limits.containers.x": "1"},
	}

	for _, c := range bad {
		wantClass(t, "config", ValidateConfig(c), errs.ErrInvalid, "invalid project configuration key")
	}
}

func TestUpdateRenameDelete(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	err := m.Create(ctx, api.ProjectsPost{Name: "p1", ProjectPut: api.ProjectPut{Config: map[string]string{"features.images": "false"}}})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Update(ctx, "p1", api.ProjectPut{Description: "d", Config: map[string]string{"features.images": "true", "limits.containers": "3"}})
	if err != nil {
		t.Fatal(err)
	}

	p, _ := m.Get(ctx, "p1")
	if p.Description != "d" || p.Config["limits.containers"] != "3" || p.Config["features.profiles"] != "" {
		t.Fatalf("got %+v, want the whole configuration replaced", p)
	}

	wantClass(t, "unknown key", m.Update(ctx, "p1", api.ProjectPut{Config: map[string]string{"nope": "1"}}), errs.ErrInvalid, "nope")
	wantClass(t, "rename to default", m.Rename(ctx, "p1", "default"), errs.ErrConflict, "already exists")
	wantClass(t, "rename bad name", m.Rename(ctx, "p1", "a/b"), errs.ErrInvalid, "slashes")
	err = m.Rename(ctx, "p1", "p2")
	if err != nil {
		t.Fatal(err)
	}

	wantClass(t, "old name", m.Delete(ctx, "p1"), errs.ErrNotFound, "project not found")
	err = m.Delete(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}

	ok, err := m.Exists(ctx, "p2")
	if err != nil || ok {
		t.Fatalf("got %v, %v; want p2 gone", ok, err)
	}
}

func TestDefaultUsedByAndState(t *testing.T) {
	m, d := newManager(t)
	ctx := context.Background()
	err := d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProfile(ctx, db.Profile{Name: "default"})
		if err != nil {
			return err
		}

		for _, name := range []string{"c1", "c2"} {
			_, err = tx.CreateInstance(ctx, db.Instance{Name: name, Type: "container", Architecture: "x86_64",
				CreatedAt: time.Now(), Profiles: []string{"default"},
				Config: map[string]string{"limits.memory": "1GiB"}})
			if err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	p, err := m.Get(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"/1.0/instances/c1", "/1.0/instances/c2", "/1.0/profiles/default"}
	if !slices.Equal(p.UsedBy, want) {
		t.Fatalf("got used_by %v, want %v", p.UsedBy, want)
	}

	st, err := m.State(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}

	if st.Resources["containers"] != (api.ProjectStateResource{Limit: -1, Usage: 2}) ||
		st.Resources["memory"].Usage != 2<<30 || len(st.Resources) != len(Resources) {
		t.Fatalf("got %+v, want 2 containers and 2GiB of memory", st.Resources)
	}

	put := p.Writable()
	put.Config["limits.containers"] = "1"
	wantClass(t, "limit below usage", m.Update(ctx, "default", put), errs.ErrInvalid, "too low")
	put.Config["limits.containers"] = "2"
	put.Config["limits.cpu"] = "4"
	wantClass(t, "aggregate without instance keys", m.Update(ctx, "default", put), errs.ErrInvalid, "has no \"limits.cpu\"")
	delete(put.Config, "limits.cpu")
	put.Config["limits.memory"] = "4GiB"
	err = m.Update(ctx, "default", put)
	if err != nil {
		t.Fatal(err)
	}

	st, _ = m.State(ctx, "default")
	if st.Resources["containers"].Limit != 2 || st.Resources["memory"].Limit != 4<<30 {
		t.Fatalf("got %+v, want the limits set", st.Resources)
	}
}

func TestHoldings(t *testing.T) {
	c := db.ProjectContent{Instances: []string{"c1"}, Profiles: []string{"default", "p"},
		Volumes: []db.PoolVolume{{Pool: "pool", Name: "v"}}}
	got := holdings(c)
	if got != "instances c1; profiles p; storage volumes pool/v" {
		t.Fatalf("got %q", got)
	}

	if holdings(db.ProjectContent{Profiles: []string{"default"}}) != "" {
		t.Fatal("a project with only its default profile is empty")
	}

	urls := usedBy("p1", c)
	if urls[0] != "/1.0/instances/c1?project=p1" || urls[3] != "/1.0/storage-pools/pool/volumes/custom/v?project=p1" {
		t.Fatalf("got %v", urls)
	}
}
