// Package oci turns images of OCI and Docker registries into images of the image store: it keeps their blobs by
// digest (checked while they stream in, shared between images, removed with the last image needing them), applies
// their layers with whiteouts into a root filesystem under an os.Root, and imports the result as a split image whose
// fingerprint is derived from the layer digests, as Incus does. The registry protocol itself is shared/oci.
package oci
