package db

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// imageEqual compares two images field by field, times by instant.
func imageEqual(a, b Image) bool {
	sourceEqual := (a.Source == nil) == (b.Source == nil)
	if sourceEqual && a.Source != nil {
		sourceEqual = *a.Source == *b.Source
	}

	return a.ID == b.ID && a.Fingerprint == b.Fingerprint && a.Filename == b.Filename && a.Size == b.Size &&
		a.Public == b.Public && a.Architecture == b.Architecture && a.Type == b.Type &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.UploadedAt.Equal(b.UploadedAt) &&
		a.LastUsedAt.Equal(b.LastUsedAt) && a.Cached == b.Cached && a.AutoUpdate == b.AutoUpdate &&
		maps.Equal(a.Properties, b.Properties) && sourceEqual
}

func TestImageRoundTrip(t *testing.T) {
	d := newTestDB(t)
	paris := time.FixedZone("CET", 3600)

	tests := []struct {
		name string
		img  Image
	}{
		{"full", Image{
			Fingerprint: testFP(1), Filename: "rootfs.tar.xz", Size: 881488, Public: true,
			Architecture: "x86_64", Type: ImageTypeContainer,
			CreatedAt:  time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC),
			ExpiresAt:  time.Unix(0, 0),
			UploadedAt: time.Date(2026, 11, 23, 9, 16, 39, 221692680, paris),
			LastUsedAt: time.Date(2026, 11, 24, 1, 2, 3, 4, time.UTC),
			Cached:     true, AutoUpdate: true,
			Properties: map[string]string{"os": "busybox", "release": "1.35", "description": "Busybox x86_64"},
			Source:     &ImageSource{Server: "https://127.0.0.1:9444", Protocol: "lxd", Certificate: "PEM", Alias: "bb", ImageType: "container"},
		}},
		{"zero times and no properties", Image{
			Fingerprint: testFP(2), Size: 1, Architecture: "aarch64", Type: ImageTypeVirtualMachine,
			UploadedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Properties: map[string]string{},
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustTx(t, d, func(ctx context.Context, tx *Tx) error {
				id, err := tx.CreateImage(ctx, tt.img)
				if err != nil {
					return err
				}

				got, err := tx.GetImage(ctx, tt.img.Fingerprint)
				if err != nil {
					return err
				}

				want := tt.img
				want.ID = id
				if !imageEqual(*got, want) {
					t.Errorf("got %+v, want %+v", *got, want)
				}

				for name, tm := range map[string]time.Time{"created": got.CreatedAt, "expires": got.ExpiresAt, "uploaded": got.UploadedAt, "last used": got.LastUsedAt} {
					if tm.Location() != time.UTC {
						t.Errorf("%s time is in %v, want UTC", name, tm.Location())
					}
				}

				if tt.img.LastUsedAt.IsZero() && !got.LastUsedAt.IsZero() {
					t.Errorf("got last used %v, want the zero time", got.LastUsedAt)
				}

				return nil
			})
		})
	}
}

func TestCreateImageDefaults(t *testing.T) {
	d := newTestDB(t)
	before := time.Now()

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 1, Architecture: "x86_64"})
		if err != nil {
			return err
		}

		img, err := tx.GetImage(ctx, testFP(1))
		if err != nil {
			return err
		}

		if img.Type != ImageTypeContainer {
			t.Errorf("got type %q, want container", img.Type)
		}

		if img.UploadedAt.Before(before.Add(-time.Second)) || img.UploadedAt.After(time.Now()) {
			t.Errorf("got uploaded %v, want about now", img.UploadedAt)
		}

		if img.Properties == nil || len(img.Properties) != 0 || img.Source != nil {
			t.Errorf("got properties %v and source %v, want empty and nil", img.Properties, img.Source)
		}

		return nil
	})
}

func TestGetImagesFilter(t *testing.T) {
	d := newTestDB(t)
	yes, no := true, false
	fp3 := testFP(3)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		for i, img := range []Image{
			{Public: true},
			{Cached: true},
			{Public: true, AutoUpdate: true, Source: &ImageSource{Server: "s", Protocol: "simplestreams"}},
			{},
		} {
			img.Fingerprint = testFP(i + 1)
			img.Size = int64(i + 1)
			img.Architecture = "x86_64"
			img.Properties = map[string]string{"i": fmt.Sprint(i + 1)}
			_, err := tx.CreateImage(ctx, img)
			if err != nil {
				return err
			}
		}

		return nil
	})

	tests := []struct {
		name   string
		filter ImageFilter
		want   []int64
	}{
		{"all", ImageFilter{}, []int64{1, 2, 3, 4}},
		{"public", ImageFilter{Public: &yes}, []int64{1, 3}},
		{"private", ImageFilter{Public: &no}, []int64{2, 4}},
		{"cached", ImageFilter{Cached: &yes}, []int64{2}},
		{"auto update", ImageFilter{AutoUpdate: &yes}, []int64{3}},
		{"fingerprint", ImageFilter{Fingerprint: &fp3}, []int64{3}},
		{"combined", ImageFilter{Public: &yes, AutoUpdate: &no}, []int64{1}},
		{"none", ImageFilter{Cached: &yes, Public: &yes}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustTx(t, d, func(ctx context.Context, tx *Tx) error {
				images, err := tx.GetImages(ctx, tt.filter)
				if err != nil {
					return err
				}

				var got []int64
				for _, img := range images {
					got = append(got, img.Size)
					if img.Properties["i"] != fmt.Sprint(img.Size) {
						t.Errorf("image %d has properties %v, want its own", img.Size, img.Properties)
					}

					if (img.Source != nil) != (img.Size == 3) {
						t.Errorf("image %d has source %v, want one only on image 3", img.Size, img.Source)
					}
				}

				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}

				return nil
			})
		})
	}
}

func TestGetImageByPrefix(t *testing.T) {
	d := newTestDB(t)
	yes := true
	a := "ab12" + strings.Repeat("0", 60)
	b := "ab34" + strings.Repeat("0", 60)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: a, Size: 1, Architecture: "x86_64", Public: true})
		if err != nil {
			return err
		}

		_, err = tx.CreateImage(ctx, Image{Fingerprint: b, Size: 2, Architecture: "x86_64"})
		return err
	})

	tests := []struct {
		name    string
		prefix  string
		filter  ImageFilter
		want    string
		wantErr error
	}{
		{"unique", "ab1", ImageFilter{}, a, nil},
		{"upper case", "AB3", ImageFilter{}, b, nil},
		{"full", a, ImageFilter{}, a, nil},
		{"ambiguous", "ab", ImageFilter{}, "", errs.ErrInvalid},
		{"filter disambiguates", "ab", ImageFilter{Public: &yes}, a, nil},
		{"filter hides", "ab3", ImageFilter{Public: &yes}, "", errs.ErrNotFound},
		{"unknown", "cd", ImageFilter{}, "", errs.ErrNotFound},
		{"not hex", "ab*", ImageFilter{}, "", errs.ErrNotFound},
		{"glob class", "[a]", ImageFilter{}, "", errs.ErrNotFound},
		{"empty", "", ImageFilter{}, "", errs.ErrNotFound},
		{"too long", a + "0", ImageFilter{}, "", errs.ErrNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Image
			err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
				var err error
				got, err = tx.GetImageByPrefix(ctx, tt.prefix, tt.filter)
				return err
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}

				if tt.wantErr == errs.ErrInvalid && !strings.Contains(err.Error(), "ambiguous") {
					t.Fatalf("got %v, want it to say ambiguous", err)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if got.Fingerprint != tt.want {
				t.Fatalf("got %s, want %s", got.Fingerprint, tt.want)
			}
		})
	}
}

func TestUpdateImage(t *testing.T) {
	d := newTestDB(t)
	fp := testFP(1)
	used := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64", Properties: map[string]string{"old": "1", "os": "a"}})
		if err != nil {
			return err
		}

		err = tx.UpdateImage(ctx, fp, ImageUpdate{Public: true, AutoUpdate: true, ExpiresAt: expires, Properties: map[string]string{"os": "b"}})
		if err != nil {
			return err
		}

		err = tx.UpdateImageLastUse(ctx, fp, used)
		if err != nil {
			return err
		}

		err = tx.UpdateImageCached(ctx, fp, true)
		if err != nil {
			return err
		}

		img, err := tx.GetImage(ctx, fp)
		if err != nil {
			return err
		}

		if !img.Public || !img.AutoUpdate || !img.Cached || !img.ExpiresAt.Equal(expires) || !img.LastUsedAt.Equal(used) {
			t.Errorf("got %+v, want public, auto-update, cached, expiry and last use set", *img)
		}

		if !maps.Equal(img.Properties, map[string]string{"os": "b"}) {
			t.Errorf("got properties %v, want them replaced", img.Properties)
		}

		err = tx.UpdateImage(ctx, fp, ImageUpdate{})
		if err != nil {
			return err
		}

		img, err = tx.GetImage(ctx, fp)
		if err != nil {
			return err
		}

		if img.Public || img.AutoUpdate || !img.ExpiresAt.IsZero() || len(img.Properties) != 0 {
			t.Errorf("got %+v, want everything writable cleared", *img)
		}

		return nil
	})
}

func TestImageErrors(t *testing.T) {
	d := newTestDB(t)
	fp := testFP(1)
	missing := testFP(99)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
		return err
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
			return err
		}, errs.ErrConflict},
		{"short fingerprint", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: "abc", Size: 1, Architecture: "x86_64"})
			return err
		}, errs.ErrInvalid},
		{"upper-case fingerprint", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: strings.ToUpper(testFP(0xabc)), Size: 1, Architecture: "x86_64"})
			return err
		}, errs.ErrInvalid},
		{"bad type", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: testFP(2), Size: 1, Architecture: "x86_64", Type: "vm"})
			return err
		}, errs.ErrInvalid},
		{"negative size", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: testFP(2), Size: -1, Architecture: "x86_64"})
			return err
		}, errs.ErrInvalid},
		{"get missing", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetImage(ctx, missing)
			return err
		}, errs.ErrNotFound},
		{"update missing", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateImage(ctx, missing, ImageUpdate{})
		}, errs.ErrNotFound},
		{"last use missing", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateImageLastUse(ctx, missing, time.Now())
		}, errs.ErrNotFound},
		{"cached missing", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateImageCached(ctx, missing, true)
		}, errs.ErrNotFound},
		{"delete missing", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteImage(ctx, missing)
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
}

func TestCreateImageIsAtomic(t *testing.T) {
	d := newTestDB(t)

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 1, Architecture: "x86_64", Properties: map[string]string{"k": "v"}})
		if err != nil {
			return err
		}

		_, err = tx.CreateImage(ctx, Image{Fingerprint: testFP(1), Size: 1, Architecture: "x86_64"})
		return err
	})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}

	for _, table := range []string{"images", "images_properties"} {
		var n int
		err = d.local.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}

		if n != 0 {
			t.Fatalf("got %d rows in %s after a failed transaction, want 0", n, table)
		}
	}
}

func TestDeleteImageCascades(t *testing.T) {
	d := newTestDB(t)
	fp := testFP(1)
	keep := testFP(2)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		for _, f := range []string{fp, keep} {
			_, err := tx.CreateImage(ctx, Image{
				Fingerprint: f, Size: 1, Architecture: "x86_64",
				Properties: map[string]string{"os": "busybox"},
				Source:     &ImageSource{Server: "https://127.0.0.1:9444", Protocol: "lxd"},
			})
			if err != nil {
				return err
			}

			_, err = tx.CreateImageAlias(ctx, ImageAlias{Name: "alias-" + f[60:], Target: f})
			if err != nil {
				return err
			}
		}

		return tx.DeleteImage(ctx, fp)
	})

	for _, table := range []string{"images", "images_properties", "images_aliases", "images_source"} {
		var n int
		err := d.local.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}

		if n != 1 {
			t.Errorf("got %d rows in %s, want only the other image's", n, table)
		}
	}
}

// BenchmarkGetImages lists 1,000 images with properties, as GET
// /1.0/images?recursion=1 does.
func BenchmarkGetImages(b *testing.B) {
	d := newTestDB(b)
	const count = 1000

	mustTx(b, d, func(ctx context.Context, tx *Tx) error {
		for i := range count {
			img := Image{
				Fingerprint: testFP(i + 1), Filename: "rootfs.tar.xz", Size: int64(1000 + i),
				Public: i%2 == 0, Architecture: "x86_64",
				CreatedAt: time.Unix(1700000000, 0), ExpiresAt: time.Unix(0, 0),
				Properties: map[string]string{"os": "busybox", "release": "1.35", "description": "Busybox x86_64"},
			}

			if i%10 == 0 {
				img.Source = &ImageSource{Server: "https://images.example", Protocol: "simplestreams", Alias: "bb"}
			}

			_, err := tx.CreateImage(ctx, img)
			if err != nil {
				return err
			}
		}

		return nil
	})

	yes := true
	cases := []struct {
		name   string
		filter ImageFilter
		want   int
	}{
		{"all", ImageFilter{}, count},
		{"public", ImageFilter{Public: &yes}, count / 2},
	}

	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
					images, err := tx.GetImages(ctx, c.filter)
					if err != nil {
						return err
					}

					if len(images) != c.want {
						return fmt.Errorf("got %d images, want %d", len(images), c.want)
					}

					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
