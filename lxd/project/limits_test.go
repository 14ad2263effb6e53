package project

import (
	"context"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
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
