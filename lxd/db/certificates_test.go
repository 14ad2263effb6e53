package db

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// certPrefixFP returns a fingerprint that starts with prefix.
func certPrefixFP(prefix string) string {
	return prefix + strings.Repeat("0", 64-len(prefix))
}

func TestCertificatesCRUD(t *testing.T) {
	d := newTestDB(t)
	fp := certPrefixFP("ab12")

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		id, err := tx.CreateCertificate(ctx, Certificate{
			Fingerprint: fp, Type: "client", Name: "laptop", Certificate: "PEM",
			Restricted: true, Projects: []string{"p2", "default", "p2"},
		})
		if err != nil {
			return err
		}

		if id <= 0 {
			t.Errorf("got id %d, want a positive id", id)
		}

		c, err := tx.GetCertificate(ctx, fp)
		if err != nil {
			return err
		}

		want := Certificate{ID: id, Fingerprint: fp, Type: "client", Name: "laptop", Certificate: "PEM", Restricted: true, Projects: []string{"default", "p2"}}
		if !certEqual(*c, want) {
			t.Errorf("got %+v, want %+v", *c, want)
		}

		return nil
	})

	newFP := certPrefixFP("cd34")
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		err := tx.UpdateCertificate(ctx, fp, Certificate{Fingerprint: newFP, Type: "metrics", Name: "probe", Certificate: "PEM2"})
		if err != nil {
			return err
		}

		_, err = tx.GetCertificate(ctx, fp)
		if !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("got %v for the old fingerprint, want ErrNotFound", err)
		}

		c, err := tx.GetCertificate(ctx, newFP)
		if err != nil {
			return err
		}

		if c.Type != "metrics" || c.Name != "probe" || c.Certificate != "PEM2" || c.Restricted || len(c.Projects) != 0 {
			t.Errorf("got %+v after update, want the new values and no projects", *c)
		}

		err = tx.UpdateCertificate(ctx, newFP, Certificate{Type: "client", Name: "kept-fp", Projects: []string{"default"}})
		if err != nil {
			return err
		}

		c, err = tx.GetCertificate(ctx, newFP)
		if err != nil {
			return err
		}

		if c.Name != "kept-fp" || !slices.Equal(c.Projects, []string{"default"}) {
			t.Errorf("got %+v, want the fingerprint kept and the projects set", *c)
		}

		err = tx.DeleteCertificate(ctx, newFP)
		if err != nil {
			return err
		}

		certs, err := tx.GetCertificates(ctx)
		if err != nil {
			return err
		}

		if len(certs) != 0 {
			t.Errorf("got %d certificates after delete, want 0", len(certs))
		}

		return nil
	})

	var n int
	err := d.local.QueryRow("SELECT count(*) FROM certificates_projects").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 0 {
		t.Fatalf("got %d project rows after delete, want 0 (cascade)", n)
	}
}

// certEqual compares two certificates field by field.
func certEqual(a, b Certificate) bool {
	return a.ID == b.ID && a.Fingerprint == b.Fingerprint && a.Type == b.Type && a.Name == b.Name &&
		a.Certificate == b.Certificate && a.Restricted == b.Restricted && slices.Equal(a.Projects, b.Projects)
}

func TestGetCertificatesListsProjects(t *testing.T) {
	d := newTestDB(t)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		for _, c := range []Certificate{
			{Fingerprint: certPrefixFP("bb"), Type: "client", Name: "b", Projects: []string{"x"}},
			{Fingerprint: certPrefixFP("aa"), Type: "client", Name: "a", Projects: []string{"y", "z"}},
			{Fingerprint: certPrefixFP("cc"), Type: "metrics", Name: "c"},
		} {
			_, err := tx.CreateCertificate(ctx, c)
			if err != nil {
				return err
			}
		}

		certs, err := tx.GetCertificates(ctx)
		if err != nil {
			return err
		}

		var got []string
		for _, c := range certs {
			got = append(got, c.Name+":"+strings.Join(c.Projects, ","))
		}

		want := []string{"a:y,z", "b:x", "c:"}
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}

		return nil
	})
}

func TestCertificateErrors(t *testing.T) {
	d := newTestDB(t)
	fp := certPrefixFP("ab12")
	other := certPrefixFP("ab34")

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		for _, f := range []string{fp, other} {
			_, err := tx.CreateCertificate(ctx, Certificate{Fingerprint: f, Type: "client"})
			if err != nil {
				return err
			}
		}

		return nil
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateCertificate(ctx, Certificate{Fingerprint: fp, Type: "client"})
			return err
		}, errs.ErrConflict},
		{"bad fingerprint", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateCertificate(ctx, Certificate{Fingerprint: "AB", Type: "client"})
			return err
		}, errs.ErrInvalid},
		{"bad type", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateCertificate(ctx, Certificate{Fingerprint: certPrefixFP("ff"), Type: "root"})
			return err
		}, errs.ErrInvalid},
		{"get missing", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetCertificate(ctx, certPrefixFP("ee"))
			return err
		}, errs.ErrNotFound},
		{"update missing", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateCertificate(ctx, certPrefixFP("ee"), Certificate{Type: "client"})
		}, errs.ErrNotFound},
		{"update onto another fingerprint", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateCertificate(ctx, fp, Certificate{Fingerprint: other, Type: "client"})
		}, errs.ErrConflict},
		{"delete missing", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteCertificate(ctx, certPrefixFP("ee"))
		}, errs.ErrNotFound},
		{"ambiguous prefix", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetCertificateByPrefix(ctx, "ab")
			return err
		}, errs.ErrInvalid},
		{"unknown prefix", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetCertificateByPrefix(ctx, "ac")
			return err
		}, errs.ErrNotFound},
		{"non-hex prefix", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetCertificateByPrefix(ctx, "ab*")
			return err
		}, errs.ErrNotFound},
		{"empty prefix", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetCertificateByPrefix(ctx, "")
			return err
		}, errs.ErrNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Transaction(context.Background(), tt.fn)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.GetCertificateByPrefix(ctx, "ab")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("got %v, want an error saying ambiguous", err)
	}
}

func TestGetCertificateByPrefix(t *testing.T) {
	d := newTestDB(t)
	fp := certPrefixFP("ab12")

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateCertificate(ctx, Certificate{Fingerprint: fp, Type: "client", Name: "one"})
		if err != nil {
			return err
		}

		_, err = tx.CreateCertificate(ctx, Certificate{Fingerprint: certPrefixFP("ab34"), Type: "client", Name: "two"})
		if err != nil {
			return err
		}

		for _, prefix := range []string{"ab1", "AB12", fp} {
			c, err := tx.GetCertificateByPrefix(ctx, prefix)
			if err != nil {
				return err
			}

			if c.Fingerprint != fp {
				t.Errorf("prefix %q: got %s, want %s", prefix, c.Fingerprint, fp)
			}
		}

		return nil
	})
}

func TestCertificateToAPI(t *testing.T) {
	c := Certificate{ID: 3, Fingerprint: certPrefixFP("ab"), Type: "client", Name: "laptop", Certificate: "PEM", Restricted: true}

	got := c.ToAPI()
	if got.Fingerprint != c.Fingerprint || got.Name != "laptop" || got.Type != "client" || got.Certificate != "PEM" || !got.Restricted {
		t.Fatalf("got %+v, want the row's fields", got)
	}

	body, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(string(body), `"projects":[]`) {
		t.Fatalf("got %s, want projects rendered as []", body)
	}

	c.Projects = []string{"default"}
	got = c.ToAPI()
	got.Projects[0] = "changed"
	if c.Projects[0] != "default" {
		t.Fatal("ToAPI shares the Projects slice with the row")
	}
}
