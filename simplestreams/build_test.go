package simplestreams

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

func TestBuildRoundTrip(t *testing.T) {
	created := time.Date(2023, 11, 14, 22, 13, 0, 0, time.UTC)
	fpU := "1111111111111111111111111111111111111111111111111111111111111111"
	fpS := "2222222222222222222222222222222222222222222222222222222222222222"
	fpQ := "3333333333333333333333333333333333333333333333333333333333333333"
	mk := func(fp string, aliases ...string) api.Image {
		img := api.Image{Fingerprint: fp, Architecture: "x86_64", CreatedAt: created, Type: "container",
			ImagePut: api.ImagePut{Properties: map[string]string{"os": "busybox", "release": "1.35"}, Public: true}}
		for _, a := range aliases {
			img.Aliases = append(img.Aliases, api.ImageAlias{Name: a})
		}

		return img
	}

	src := []SourceImage{
		{Image: mk(fpU, "unified"), Meta: FileInfo{Name: fpU + ".tar.xz", SHA256: fpU, Size: 100}},
		{Image: mk(fpS, "split"), Meta: FileInfo{Name: "meta-" + fpS + ".tar.xz", SHA256: "aa", Size: 10},
			Rootfs: &FileInfo{Name: fpS + ".tar.gz", SHA256: "bb", Size: 90}},
		{Image: mk(fpQ), Meta: FileInfo{Name: "meta-" + fpQ + ".tar.xz", SHA256: "cc", Size: 10},
			Rootfs: &FileInfo{Name: fpQ + ".squashfs", SHA256: "dd", Size: 90}},
	}

	index, products := Build(src)
	data, err := json.Marshal(products)
	if err != nil {
		t.Fatal(err)
	}

	parsed, err := ParseProducts(data)
	if err != nil {
		t.Fatal(err)
	}

	if got := index.ImageStreams(); len(got) != 1 || got[0] != "streams/v1/images.json" {
		t.Fatalf("index streams: got %v", got)
	}

	images, aliases := parsed.Images("x86_64")
	byFP := map[string]Image{}
	for _, img := range images {
		byFP[img.Fingerprint] = img
	}

	if len(byFP) != 3 {
		t.Fatalf("got %d images back, want 3: %v", len(byFP), images)
	}

	if u := byFP[fpU]; u.Rootfs != nil || u.Meta.Path != "images/"+fpU+"/"+fpU+".tar.xz" || u.Size != 100 {
		t.Fatalf("unified image: got %+v", u)
	}

	if s := byFP[fpS]; s.Rootfs == nil || s.Rootfs.SHA256 != "bb" || s.Meta.SHA256 != "aa" || s.Size != 100 {
		t.Fatalf("split image: got %+v", s)
	}

	if q := byFP[fpQ]; q.Rootfs == nil || q.Properties["type"] != "squashfs" {
		t.Fatalf("squashfs image: got %+v", q)
	}

	names := map[string]string{}
	for _, a := range aliases {
		names[a.Name] = a.Target
	}

	if names["unified"] != fpU || names["split/x86_64"] != fpS {
		t.Fatalf("aliases: got %v", names)
	}
}
