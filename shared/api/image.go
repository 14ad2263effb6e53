package api

import "time"

// ImagePut is the writable part of an image.
type ImagePut struct {
	// AutoUpdate tells whether the image is refreshed from its source.
	// Example: false
	AutoUpdate bool `json:"auto_update" yaml:"auto_update"`

	// Properties are descriptive key/values.
	// Example: {"os": "busybox", "release": "1.35"}
	Properties map[string]string `json:"properties" yaml:"properties"`

	// Public tells whether untrusted callers may see and download the image.
	// Example: false
	Public bool `json:"public" yaml:"public"`

	// ExpiresAt is when the image stops being supported.
	// Example: 2025-03-23T20:00:00-04:00
	ExpiresAt time.Time `json:"expires_at" yaml:"expires_at"`

	// Profiles applied to instances created from the image.
	// Example: ["default"]
	Profiles []string `json:"profiles" yaml:"profiles"`
}

// Image is an image of the store.
type Image struct {
	ImagePut `yaml:",inline"`

	// Aliases pointing to the image.
	Aliases []ImageAlias `json:"aliases" yaml:"aliases"`

	// Architecture is the canonical architecture name.
	// Example: x86_64
	Architecture string `json:"architecture" yaml:"architecture"`

	// Cached tells whether the image was pulled to create an instance and may be pruned.
	// Example: false
	Cached bool `json:"cached" yaml:"cached"`

	// Filename is the original file name.
	// Example: busybox-x86_64.tar.xz
	Filename string `json:"filename" yaml:"filename"`

	// Fingerprint is the sha256 of the image file (unified) or of metadata ‖ rootfs (split).
	// Example: 06b86454720d36b20f94e31c6812e05ec51c1b568cf3a8abd273769d213394bb
	Fingerprint string `json:"fingerprint" yaml:"fingerprint"`

	// Size is the image size in bytes.
	// Example: 272237676
	Size int64 `json:"size" yaml:"size"`

	// UpdateSource is where the image came from, for images pulled from another server.
	UpdateSource *ImageSource `json:"update_source,omitempty" yaml:"update_source,omitempty"`

	// Type is container or virtual-machine.
	// Example: container
	Type string `json:"type" yaml:"type"`

	// CreatedAt is the image's build date.
	// Example: 2021-03-23T20:00:00-04:00
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`

	// LastUsedAt is when an instance was last created from the image.
	// Example: 2021-03-22T20:39:00.575185384-04:00
	LastUsedAt time.Time `json:"last_used_at" yaml:"last_used_at"`

	// UploadedAt is when the image was added to the store.
	// Example: 2021-03-24T14:18:15.115036787-04:00
	UploadedAt time.Time `json:"uploaded_at" yaml:"uploaded_at"`
}

// Writable returns the writable part of the image.
func (img *Image) Writable() ImagePut {
	return img.ImagePut
}

// ImageSource is the server an image is pulled from and refreshed against.
type ImageSource struct {
	// Alias the image was pulled by.
	// Example: ubuntu/22.04
	Alias string `json:"alias" yaml:"alias"`

	// Certificate is the source server's PEM certificate.
	Certificate string `json:"certificate" yaml:"certificate"`

	// Protocol is lxd or simplestreams.
	// Example: simplestreams
	Protocol string `json:"protocol" yaml:"protocol"`

	// Server is the source server's URL.
	// Example: https://images.linuxcontainers.org
	Server string `json:"server" yaml:"server"`

	// ImageType is the type of image to pull.
	// Example: container
	ImageType string `json:"image_type" yaml:"image_type"`
}

// ImagesPostSource says where a new image comes from.
type ImagesPostSource struct {
	ImageSource `yaml:",inline"`

	// Mode is pull or push.
	// Example: pull
	Mode string `json:"mode" yaml:"mode"`

	// Type is image, url, instance, container or snapshot.
	// Example: image
	Type string `json:"type" yaml:"type"`

	// URL to download from, for type url.
	// Example: https://some-server.com/some-directory/
	URL string `json:"url" yaml:"url"`

	// Name of the instance or snapshot, for publishing.
	// Example: c1/snap0
	Name string `json:"name" yaml:"name"`

	// Fingerprint of the source image (or an alias, as the stock client sends for public images).
	// Example: 8ae945c52bb2f2df51c923b04022312f99bbb72c356251f54fa89ea7cf1df1d0
	Fingerprint string `json:"fingerprint" yaml:"fingerprint"`

	// Secret is the one-time secret of a private source image.
	// Example: RVW1sFuzlHNLBQ1Z
	Secret string `json:"secret" yaml:"secret"`

	// Project of the source image.
	// Example: default
	Project string `json:"project" yaml:"project"`
}

// ImagesPost creates an image.
type ImagesPost struct {
	ImagePut `yaml:",inline"`

	// Filename of the image file.
	// Example: image.tar.xz
	Filename string `json:"filename" yaml:"filename"`

	// Source of the image.
	Source *ImagesPostSource `json:"source" yaml:"source"`

	// CompressionAlgorithm used when publishing.
	// Example: gzip
	CompressionAlgorithm string `json:"compression_algorithm" yaml:"compression_algorithm"`

	// Aliases to create for the image.
	Aliases []ImageAlias `json:"aliases" yaml:"aliases"`
}

// ImageExportPost asks a server to push an image to another one.
type ImageExportPost struct {
	// Target is the destination server's URL.
	// Example: https://1.2.3.4:8443
	Target string `json:"target" yaml:"target"`

	// Secret is the destination's upload secret.
	// Example: RVW1sFuzlHNLBQ1Z
	Secret string `json:"secret" yaml:"secret"`

	// Certificate is the destination server's PEM certificate.
	Certificate string `json:"certificate" yaml:"certificate"`

	// Aliases to create on the destination.
	Aliases []ImageAlias `json:"aliases" yaml:"aliases"`

	// Project on the destination.
	// Example: default
	Project string `json:"project" yaml:"project"`

	// Profiles on the destination.
	// Example: ["default"]
	Profiles []string `json:"profiles" yaml:"profiles"`
}

// ImageAlias is an alias as listed inside an image.
type ImageAlias struct {
	// Name of the alias.
	// Example: ubuntu-22.04
	Name string `json:"name" yaml:"name"`

	// Description of the alias.
	// Example: Our preferred Ubuntu image
	Description string `json:"description" yaml:"description"`
}

// ImageAliasesEntryPut is the writable part of an alias.
type ImageAliasesEntryPut struct {
	// Description of the alias.
	// Example: Our preferred Ubuntu image
	Description string `json:"description" yaml:"description"`

	// Target is the fingerprint the alias points to.
	// Example: 06b86454720d36b20f94e31c6812e05ec51c1b568cf3a8abd273769d213394bb
	Target string `json:"target" yaml:"target"`
}

// ImageAliasesEntry is an alias.
type ImageAliasesEntry struct {
	ImageAliasesEntryPut `yaml:",inline"`

	// Name of the alias.
	// Example: ubuntu-22.04
	Name string `json:"name" yaml:"name"`

	// Type of the target image.
	// Example: container
	Type string `json:"type" yaml:"type"`
}

// Writable returns the writable part of the alias.
func (a *ImageAliasesEntry) Writable() ImageAliasesEntryPut {
	return a.ImageAliasesEntryPut
}

// ImageAliasesPost creates an alias.
type ImageAliasesPost struct {
	ImageAliasesEntry `yaml:",inline"`
}

// ImageAliasesEntryPost renames an alias.
type ImageAliasesEntryPost struct {
	// Name is the new name.
	// Example: ubuntu-22.04-old
	Name string `json:"name" yaml:"name"`
}

// ImageMetadata is the content of an image's metadata.yaml.
type ImageMetadata struct {
	// Architecture of the image.
	// Example: x86_64
	Architecture string `json:"architecture" yaml:"architecture"`

	// CreationDate as unix seconds.
	// Example: 1620655439
	CreationDate int64 `json:"creation_date" yaml:"creation_date"`

	// ExpiryDate as unix seconds.
	// Example: 1620685757
	ExpiryDate int64 `json:"expiry_date" yaml:"expiry_date"`

	// Properties of the image.
	// Example: {"os": "Ubuntu"}
	Properties map[string]string `json:"properties" yaml:"properties"`

	// Templates by target path.
	Templates map[string]*ImageMetadataTemplate `json:"templates" yaml:"templates"`
}

// ImageMetadataTemplate is one template of an image.
type ImageMetadataTemplate struct {
	// When lists the triggers: create, copy, start, rename.
	// Example: ["create", "copy"]
	When []string `json:"when" yaml:"when"`

	// CreateOnly writes the file only when it does not exist yet.
	// Example: false
	CreateOnly bool `json:"create_only" yaml:"create_only"`

	// Template is the file name under templates/.
	// Example: hostname.tpl
	Template string `json:"template" yaml:"template"`

	// Properties handed to the template.
	// Example: {"foo": "bar"}
	Properties map[string]string `json:"properties" yaml:"properties"`
}

// The headers of an image export whose fingerprint is not the sha256 of its files, as for an image made from an OCI
// registry image (its fingerprint is derived from its layers): ImageExportTypeHeader names the kind of image ("oci"),
// ImageExportHashHeader gives the sha256 of the files served (the metadata part, then the rootfs part), which the
// download is checked against instead of the fingerprint.
const (
	ImageExportTypeHeader = "X-LXD-Type"
	ImageExportHashHeader = "X-LXD-Content-Sha256"
)

// ExtensionImageExportOCILayout is the API extension of GET /1.0/images/<fp>/export?format=oci: an OCI image (one
// pulled from a registry) as an OCI image layout in a tar stream, its layers with it.
const ExtensionImageExportOCILayout = "image_export_oci_layout"
