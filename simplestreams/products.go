package simplestreams

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
)

// Item is one downloadable file of a product version.
type Item struct {
	FileType string `json:"ftype"`
	Path     string `json:"path"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`

	// Combined hashes, on the metadata item: the fingerprints of the split images it forms.
	CombinedSHA256         string `json:"combined_sha256,omitempty"`
	CombinedRootXzSHA256   string `json:"combined_rootxz_sha256,omitempty"`
	CombinedSquashfsSHA256 string `json:"combined_squashfs_sha256,omitempty"`
}

// Version is one build of a product.
type Version struct {
	Items map[string]Item `json:"items"`
	Label string          `json:"label,omitempty"`
}

// Product is one image series (os, release, arch, variant).
type Product struct {
	Aliases      string             `json:"aliases"`
	Architecture string             `json:"arch"`
	OS           string             `json:"os"`
	Release      string             `json:"release"`
	ReleaseTitle string             `json:"release_title"`
	Variant      string             `json:"variant"`
	SupportEOL   string             `json:"support_eol,omitempty"`
	Requirements map[string]string  `json:"requirements,omitempty"`
	Versions     map[string]Version `json:"versions"`
}

// Products is a products file (e.g. streams/v1/images.json).
type Products struct {
	ContentID string             `json:"content_id"`
	DataType  string             `json:"datatype"`
	Format    string             `json:"format"`
	Products  map[string]Product `json:"products"`
}

// ParseProducts decodes a products file.
func ParseProducts(data []byte) (*Products, error) {
	var p Products
	err := json.Unmarshal(data, &p)
	if err != nil {
		return nil, fmt.Errorf("invalid simplestreams products: %w", err)
	}

	return &p, nil
}

// File is a file to download for an image.
type File struct {
	// Path is relative to the server's base URL.
	Path   string
	SHA256 string
	Size   int64
}

// Image is an image of the stream with the files that make it.
type Image struct {
	api.Image

	// Meta is the metadata tarball of a split image, or the whole file of a unified one.
	Meta File

	// Rootfs is the rootfs of a split image; empty for unified images.
	Rootfs *File
}

// Item file types.
const (
	ftypeMeta      = "lxd.tar.xz"
	ftypeMetaIncus = "incus.tar.xz"
	ftypeRootXz    = "root.tar.xz"
	ftypeSquashfs  = "squashfs"
	ftypeCombined  = "lxd_combined.tar.gz"
)

// rootTypes lists the root file types of container images, preferred first when they claim the same alias.
var rootTypes = []string{ftypeSquashfs, ftypeRootXz}

// versionDate parses the YYYYMMDD prefix of a version key.
func versionDate(key string) (time.Time, bool) {
	if len(key) < 8 {
		return time.Time{}, false
	}

	t, err := time.Parse("20060102", key[:8])
	if err != nil {
		return time.Time{}, false
	}

	return t, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	return keys
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}

	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}

	return true
}

// Images returns the container images of the products, newest version first within a product, and the aliases they
// carry. Short aliases (without the architecture) are given to images of hostArch only; every alias is also
// available as NAME/<arch>. Products with an unknown architecture and versions without a date are skipped.
func (p *Products) Images(hostArch string) ([]Image, []api.ImageAliasesEntry) {
	var images []Image
	var aliases []api.ImageAliasesEntry
	claimed := map[string]bool{}

	for _, name := range sortedKeys(p.Products) {
		prod := p.Products[name]
		arch, err := osarch.Canonical(prod.Architecture)
		if err != nil {
			continue
		}

		versions := sortedKeys(prod.Versions)
		sort.Sort(sort.Reverse(sort.StringSlice(versions)))
		newest := true
		for _, key := range versions {
			created, ok := versionDate(key)
			if !ok {
				continue
			}

			// Aliases go to the newest version only.
			var names []string
			if newest {
				names = productAliases(prod, arch == hostArch)
				newest = false
			}

			for _, img := range versionImages(prod, arch, key, created, prod.Versions[key]) {
				var own []api.ImageAlias
				for _, n := range names {
					if claimed[n] {
						continue
					}

					claimed[n] = true
					own = append(own, api.ImageAlias{Name: n})
					aliases = append(aliases, api.ImageAliasesEntry{
						Name:                 n,
						Type:                 "container",
						ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: img.Fingerprint},
					})
				}

				img.Aliases = own
				if img.Aliases == nil {
					img.Aliases = []api.ImageAlias{}
				}

				images = append(images, img)
			}
		}
	}

	return images, aliases
}

// productAliases expands the product's comma-separated aliases into NAME/<arch> and, for the host, NAME.
func productAliases(prod Product, host bool) []string {
	var out []string
	for _, a := range strings.Split(prod.Aliases, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}

		if host {
			out = append(out, a)
		}

		out = append(out, a+"/"+prod.Architecture)
	}

	return out
}

// versionImages builds the images of one version: a unified image from a combined tarball, and one split image
// per root file type, preferred type first.
func versionImages(prod Product, arch, key string, created time.Time, v Version) []Image {
	var out []Image
	var meta *Item
	for _, k := range sortedKeys(v.Items) {
		item := v.Items[k]
		if item.FileType == ftypeMeta || item.FileType == ftypeMetaIncus {
			meta = &item
			break
		}
	}

	if meta != nil {
		for _, rootType := range rootTypes {
			for _, k := range sortedKeys(v.Items) {
				root := v.Items[k]
				if root.FileType != rootType {
					continue
				}

				fp := meta.CombinedSquashfsSHA256
				if rootType == ftypeRootXz {
					fp = meta.CombinedRootXzSHA256
					if fp == "" {
						fp = meta.CombinedSHA256
					}
				}

				if !isHex64(fp) {
					continue
				}

				img := newImage(prod, arch, key, created, v, rootType, fp, meta.Size+root.Size, path.Base(meta.Path))
				rootFile := File{Path: root.Path, SHA256: root.SHA256, Size: root.Size}
				out = append(out, Image{Image: img, Meta: File{Path: meta.Path, SHA256: meta.SHA256, Size: meta.Size},
					Rootfs: &rootFile})
				break
			}
		}
	}

	for _, k := range sortedKeys(v.Items) {
		item := v.Items[k]
		if item.FileType != ftypeCombined || !isHex64(item.SHA256) {
			continue
		}

		img := newImage(prod, arch, key, created, v, "tar.gz", item.SHA256, item.Size, path.Base(item.Path))
		out = append(out, Image{Image: img, Meta: File{Path: item.Path, SHA256: item.SHA256, Size: item.Size}})
	}

	return out
}

func newImage(prod Product, arch, key string, created time.Time, v Version, rootType, fp string, size int64,
	filename string) api.Image {
	desc := fmt.Sprintf("%s %s %s", prod.OS, prod.ReleaseTitle, prod.Architecture)
	if v.Label != "" {
		desc += " (" + v.Label + ")"
	}

	desc += " (" + key + ")"
	props := map[string]string{
		"os":           prod.OS,
		"release":      prod.Release,
		"version":      prod.ReleaseTitle,
		"architecture": prod.Architecture,
		"label":        v.Label,
		"serial":       key,
		"description":  desc,
		"type":         rootType,
		"variant":      prod.Variant,
	}

	for k, val := range props {
		if val == "" {
			delete(props, k)
		}
	}

	expires := time.Unix(0, 0).UTC()
	if prod.SupportEOL != "" {
		eol, err := time.Parse("2006-01-02", prod.SupportEOL)
		if err == nil {
			expires = eol
		}
	}

	return api.Image{
		ImagePut: api.ImagePut{
			Properties: props,
			Public:     true,
			ExpiresAt:  expires,
		},
		Architecture: arch,
		Filename:     filename,
		Fingerprint:  fp,
		Size:         size,
		Type:         "container",
		CreatedAt:    created,
		UploadedAt:   created,
	}
}
