package project

import (
	"context"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// TestLimitsOnUpdates checks that a change of an instance or of a profile its instances use is refused when it would
// take the project past its limits or drop a key the project limits in sum, and accepted within them.
func TestLimitsOnUpdates(t *testing.T) {
	m, d := newManager(t)
	ctx := context.Background()
	err := d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProfile(ctx, db.Profile{Name: "default", Config: map[string]string{"limits.memory": "1GiB"}})
		if err != nil {
			return err
		}

		for _, name := range []string{"c1", "c2"} {
			_, err = tx.CreateInstance(ctx, db.Instance{Name: name, Type: "container", Architecture: "x86_64",
				CreatedAt: time.Now(), Profiles: []string{"default"}})
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

	put := p.Writable()
	put.Config["limits.memory"] = "3GiB"
	err = m.Update(ctx, "default", put)
	if err != nil {
		t.Fatal(err)
	}

	check := func(what string, fn func(ctx context.Context, tx *db.Tx) error, want string) {
		t.Helper()
		err := d.Transaction(ctx, fn)
		if want == "" && err != nil {
			t.Fatalf("%s: %v", what, err)
		}

		if want != "" {
			wantClass(t, what, err, errs.ErrInvalid, want)
		}
	}

	update := func(config map[string]string) func(ctx context.Context, tx *db.Tx) error {
		return func(ctx context.Context, tx *db.Tx) error {
			return CheckInstanceUpdate(ctx, tx, "c1", config, nil)
		}
	}

	profile := func(config map[string]string) func(ctx context.Context, tx *db.Tx) error {
		return func(ctx context.Context, tx *db.Tx) error {
			return CheckProfile(ctx, tx, "default", config, nil)
		}
	}

	check("c1 within the limit", update(map[string]string{"limits.memory": "2GiB"}), "")
	check("c1 past the limit", update(map[string]string{"limits.memory": "2500MiB"}), `"limits.memory" of project "default" would be exceeded`)
	check("c1 without the key", update(map[string]string{}), `instance "c1" in project "default" has no "limits.memory"`)
	check("profile within the limit", profile(map[string]string{"limits.memory": "1500MiB"}), "")
	check("profile past the limit", profile(map[string]string{"limits.memory": "2GiB"}), "would be exceeded")
	check("profile without the key", profile(map[string]string{}), `has no "limits.memory"`)
}

// TestDefaultProfileLimitsOtherProjects checks that a change of one of default's profiles is checked against the
// limits and restrictions of a project without features.profiles whose instances use it, and not of one whose
// instances do not.
func TestDefaultProfileLimitsOtherProjects(t *testing.T) {
	m, d := newManager(t)
	ctx := context.Background()
	for _, name := range []string{"p1", "p2"} {
		err := m.Create(ctx, api.ProjectsPost{Name: name, ProjectPut: api.ProjectPut{Config: map[string]string{
			"features.profiles": "false", "limits.memory": "1GiB", "restricted": "true"}}})
		if err != nil {
			t.Fatal(err)
		}
	}

	err := d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProfile(ctx, db.Profile{Name: "default", Config: map[string]string{"limits.memory": "512MiB"}})
		if err != nil {
			return err
		}

		_, err = tx.CreateInstance(ctx, db.Instance{Name: InstanceKey("p1", "c1"), Type: "container",
			Architecture: "x86_64", CreatedAt: time.Now(), Profiles: []string{"default"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	profile := func(config map[string]string) error {
		return d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			return CheckProfile(ctx, tx, "default", config, nil)
		})
	}

	err = profile(map[string]string{"limits.memory": "1GiB"})
	if err != nil {
		t.Fatalf("default's profile within p1's limit: %v", err)
	}

	wantClass(t, "default's profile past p1's limit", profile(map[string]string{"limits.memory": "2GiB"}), errs.ErrInvalid,
		`"limits.memory" of project "p1" would be exceeded`)
	wantClass(t, "default's profile without the key p1 limits", profile(map[string]string{}), errs.ErrInvalid,
		`instance "c1" in project "p1" has no "limits.memory"`)
	wantClass(t, "default's profile breaking p1's restrictions", profile(map[string]string{"limits.memory": "1GiB",
		"security.privileged": "true"}), errs.ErrForbidden, "")
}

// TestDiskLimitCountsVolumes checks that limits.disk sums the sizes of a project's custom volumes and refuses one
// without a size.
func TestDiskLimitCountsVolumes(t *testing.T) {
	m, d := newManager(t)
	ctx := context.Background()
	err := m.Create(ctx, api.ProjectsPost{Name: "p1", ProjectPut: api.ProjectPut{Config: map[string]string{"limits.disk": "1GiB"}}})
	if err != nil {
		t.Fatal(err)
	}

	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateStoragePool(ctx, db.StoragePool{Name: "pool", Driver: "dir"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// add records a volume of p1 and checks the project as the transaction leaves it (rolled back on error).
	add := func(name string, size string) error {
		return d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			config := map[string]string{}
			if size != "" {
				config["size"] = size
			}

			_, err := tx.InProject("p1").CreateStorageVolume(ctx, db.StorageVolume{Pool: "pool", Name: name, Type: "custom", Config: config})
			if err != nil {
				return err
			}

			return CheckVolumes(ctx, tx, "p1")
		})
	}

	err = add("v1", "600MiB")
	if err != nil {
		t.Fatalf("a volume within the limit: %v", err)
	}

	wantClass(t, "a volume past the limit", add("v2", "600MiB"), errs.ErrInvalid, `"limits.disk" of project "p1" would be exceeded`)
	wantClass(t, "a volume without a size", add("v3", ""), errs.ErrInvalid, `custom volume "pool/v3" in project "p1" has no "size" config set`)
	st, err := m.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}

	if got := st.Resources["disk"].Usage; got != 600<<20 {
		t.Fatalf("disk usage of p1: got %d, want %d", got, 600<<20)
	}
}
