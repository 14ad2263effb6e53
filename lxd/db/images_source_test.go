package db

import (
	"context"
	"errors"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestSetImageSource(t *testing.T) {
	d := newTestDB(t)
	first := ImageSource{Server: "https://127.0.0.1:8443", Protocol: "lxd", Alias: "bb"}
	second := ImageSource{Server: "https://127.0.0.1:8444", Protocol: "simplestreams", Certificate: "PEM", Alias: "deb", ImageType: "container"}
	for _, want := range []ImageSource{first, second} {
		mustTx(t, d, func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetImage(ctx, testFP(1))
			if errors.Is(err, errs.ErrNotFound) {
				_, err = tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Architecture: "x86_64"})
			}

			if err != nil {
				return err
			}

			return tx.SetImageSource(ctx, testFP(1), want)
		})

		mustTx(t, d, func(ctx context.Context, tx *Tx) error {
			img, err := tx.GetImage(ctx, testFP(1))
			if err != nil {
				return err
			}

			if img.Source == nil || *img.Source != want {
				t.Errorf("got source %+v, want %+v", img.Source, want)
			}

			return nil
		})
	}

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.SetImageSource(ctx, testFP(2), first)
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v for a missing image, want ErrNotFound", err)
	}
}

func TestImageAPIRedactsSourcePassword(t *testing.T) {
	for server, want := range map[string]string{
		"https://user:secret@registry.example.com:5000": "https://user:xxxxx@registry.example.com:5000",
		"https://user@registry.example.com":             "https://user@registry.example.com",
		"https://images.example.com":                    "https://images.example.com",
		"":                                              "",
	} {
		img := Image{Fingerprint: "fp", Source: &ImageSource{Server: server, Protocol: "oci"}}
		got := img.ToAPI(nil).UpdateSource.Server
		if got != want {
			t.Errorf("source %q shown as %q, want %q", server, got, want)
		}
	}
}
