package simplestreams

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// FileInfo describes a file an image is made of, as a simplestreams item lists it.
type FileInfo struct {
	// Name is the file name offered for download.
	Name   string
	SHA256 string
	Size   int64
}

// SourceImage is an image to publish: its API object and the files that make it.
type SourceImage struct {
	Image api.Image

	// Meta is the whole file of a unified image, or the metadata tarball of a split one.
	Meta FileInfo

	// Rootfs is the rootfs of a split image; nil for a unified one.
	Rootfs *FileInfo
}

// ItemPath is where a file of an image is published, relative to the tree's root.
func ItemPath(fingerprint string, name string) string {
	return path.Join("images", fingerprint, name)
}

// Build returns the index and products of a tree publishing the images: one product per image, keyed by its
// fingerprint so that every image stays reachable, with the image's aliases as the product's aliases and one version
// named after its creation date. The result reads back through Products.Images into the same fingerprints.
func Build(images []SourceImage) (*Index, *Products) {
	products := &Products{
		ContentID: "images",
		DataType:  "image-downloads",
		Format:    "products:1.0",
		Products:  map[string]Product{},
	}

	sorted := append([]SourceImage(nil), images...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Image.Fingerprint < sorted[j].Image.Fingerprint })
	for _, src := range sorted {
		img := src.Image
		props := img.Properties
		var aliases []string
		for _, a := range img.Aliases {
			aliases = append(aliases, a.Name)
		}

		items := map[string]Item{}
		if src.Rootfs == nil {
			items[ftypeCombined] = Item{
				FileType: ftypeCombined,
				Path:     ItemPath(img.Fingerprint, src.Meta.Name),
				SHA256:   src.Meta.SHA256,
				Size:     src.Meta.Size,
			}
		} else {
			rootType := ftypeRootXz
			meta := Item{
				FileType: ftypeMeta,
				Path:     ItemPath(img.Fingerprint, src.Meta.Name),
				SHA256:   src.Meta.SHA256,
				Size:     src.Meta.Size,
			}

			if strings.HasSuffix(src.Rootfs.Name, ".squashfs") {
				rootType = ftypeSquashfs
				meta.CombinedSquashfsSHA256 = img.Fingerprint
			} else {
				meta.CombinedSHA256 = img.Fingerprint
				meta.CombinedRootXzSHA256 = img.Fingerprint
			}

			items[ftypeMeta] = meta
			items[rootType] = Item{
				FileType: rootType,
				Path:     ItemPath(img.Fingerprint, src.Rootfs.Name),
				SHA256:   src.Rootfs.SHA256,
				Size:     src.Rootfs.Size,
			}
		}

		releaseTitle := props["release"]
		if props["version"] != "" {
			releaseTitle = props["version"]
		}

		products.Products[img.Fingerprint] = Product{
			Aliases:      strings.Join(aliases, ","),
			Architecture: img.Architecture,
			OS:           props["os"],
			Release:      props["release"],
			ReleaseTitle: releaseTitle,
			Variant:      props["variant"],
			Versions: map[string]Version{
				versionKey(img): {Items: items, Label: props["label"]},
			},
		}
	}

	names := make([]string, 0, len(products.Products))
	for name := range products.Products {
		names = append(names, name)
	}

	sort.Strings(names)
	index := &Index{
		Format: "index:1.0",
		Index: map[string]Stream{
			"images": {
				DataType: "image-downloads",
				Path:     "streams/v1/images.json",
				Format:   "products:1.0",
				Products: names,
			},
		},
	}

	return index, products
}

// versionKey names an image's version after its creation date, as simplestreams versions are (YYYYMMDD_HHMM).
func versionKey(img api.Image) string {
	t := img.CreatedAt.UTC()
	if t.Year() < 1970 || t.Unix() <= 0 {
		t = img.UploadedAt.UTC()
	}

	return fmt.Sprintf("%s_%s", t.Format("20060102"), t.Format("1504"))
}
