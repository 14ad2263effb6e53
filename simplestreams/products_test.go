package simplestreams

import (
	"os"
	"strings"
	"testing"
)

func load(t testing.TB) *Products {
	data, err := os.ReadFile("testdata/images.json")
	if err != nil {
		t.Fatal(err)
	}

	p, err := ParseProducts(data)
	if err != nil {
		t.Fatal(err)
	}

	return p
}

func TestIndex(t *testing.T) {
	data, err := os.ReadFile("testdata/index.json")
	if err != nil {
		t.Fatal(err)
	}

	idx, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}

	got := idx.ImageStreams()
	if len(got) != 1 || got[0] != "streams/v1/images.json" {
		t.Fatalf("got %v, want only the image-downloads stream", got)
	}
}

func TestImages(t *testing.T) {
	images, aliases := load(t).Images("x86_64")

	byFP := map[string]Image{}
	for _, img := range images {
		byFP[img.Fingerprint[:8]] = img
	}

	if len(images) != 4 {
		t.Fatalf("got %d images, want 4 (squashfs, root.tar.xz, combined, arm)", len(images))
	}

	sq, ok := byFP["5a86a53c"]
	if !ok || sq.Rootfs == nil || sq.Rootfs.Size != 929792 || sq.Size != 400+929792 || sq.Properties["type"] != "squashfs" {
		t.Fatalf("squashfs image: got %+v", sq)
	}

	if sq.Properties["description"] != "Busybox 1.35 amd64 (20231114_22:13)" || sq.Architecture != "x86_64" ||
		sq.Filename != "lxd.tar.xz" || sq.CreatedAt.Format("2006-01-02") != "2023-11-14" {
		t.Fatalf("squashfs image fields: got %+v", sq.Image)
	}

	names := []string{}
	for _, a := range sq.Aliases {
		names = append(names, a.Name)
	}

	if strings.Join(names, ",") != "bb,bb/amd64,bb/1.35,bb/1.35/amd64" {
		t.Fatalf("squashfs aliases: got %v, want the preferred type to take every alias", names)
	}

	xz := byFP["b782978f"]
	if len(xz.Aliases) != 0 || xz.Properties["type"] != "root.tar.xz" {
		t.Fatalf("root.tar.xz image: got aliases %v, type %q", xz.Aliases, xz.Properties["type"])
	}

	combined := byFP["00000000"]
	if combined.Rootfs != nil || combined.Properties["type"] != "tar.gz" || len(combined.Aliases) != 0 {
		t.Fatalf("older unified image: got %+v", combined)
	}

	arm := byFP["00000000"]
	for _, img := range images {
		if img.Architecture == "aarch64" {
			arm = img
		}
	}

	if len(arm.Aliases) != 1 || arm.Aliases[0].Name != "armimg/arm64" || arm.ExpiresAt.Format("2006-01-02") != "2028-06-30" {
		t.Fatalf("foreign architecture image: got aliases %v, expiry %v", arm.Aliases, arm.ExpiresAt)
	}

	for _, a := range aliases {
		if a.Name == "weird" {
			t.Fatal("a product with an unknown architecture was listed")
		}
	}

	if len(aliases) != 5 {
		t.Fatalf("got %d aliases, want 5: %v", len(aliases), aliases)
	}
}

func FuzzParseProducts(f *testing.F) {
	data, err := os.ReadFile("testdata/images.json")
	if err != nil {
		f.Fatal(err)
	}

	f.Add(data)
	f.Add([]byte(`{"products":{"a":{"arch":"amd64","versions":{"2024010":{}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProducts(data)
		if err != nil {
			return
		}

		images, _ := p.Images("x86_64")
		for _, img := range images {
			if len(img.Fingerprint) != 64 {
				t.Fatalf("image with fingerprint %q", img.Fingerprint)
			}
		}
	})
}

func BenchmarkImages(b *testing.B) {
	p := load(b)
	b.ReportAllocs()
	for b.Loop() {
		p.Images("x86_64")
	}
}
