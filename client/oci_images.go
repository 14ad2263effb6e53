package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/oci"
)

// ProtocolOCI is a read-only image server over an OCI or Docker registry. A registry cannot list its images: they
// are looked up by name (an alias: NAME[:TAG] or NAME@DIGEST), which resolves to the manifest of the host's
// architecture and to a fingerprint derived from its layers. Downloads are done by the daemon the image is copied to
// or launched on, from the source's URL and protocol.
type ProtocolOCI struct {
	url      string
	registry *oci.Registry
	client   *http.Client

	mu    sync.Mutex
	cache map[string]*oci.Image
}

// ConnectOCI connects to the registry at rawURL (https://HOST[:PORT], with user:password@ for a registry asking
// for credentials). Nothing is sent until an image is looked up. The system trust store (SSL_CERT_FILE honoured)
// verifies the registry.
func ConnectOCI(rawURL string, args *ConnectionArgs) (*ProtocolOCI, error) {
	reg, err := oci.NewRegistry(strings.TrimSuffix(rawURL, "/"))
	if err != nil {
		return nil, err
	}

	if args != nil {
		reg.UserAgent = args.UserAgent
	}

	return &ProtocolOCI{url: strings.TrimSuffix(rawURL, "/"), registry: reg, client: &http.Client{}, cache: map[string]*oci.Image{}}, nil
}

// GetConnectionInfo describes the connection.
func (r *ProtocolOCI) GetConnectionInfo() (*ConnectionInfo, error) {
	return &ConnectionInfo{URL: r.url, Protocol: "oci"}, nil
}

// GetHTTPClient returns an HTTP client.
func (r *ProtocolOCI) GetHTTPClient() (*http.Client, error) {
	return r.client, nil
}

// Disconnect does nothing: every lookup has its own connection.
func (r *ProtocolOCI) Disconnect() {}

var errOCIList = errors.New("can't list images from OCI registry")

// GetImageFingerprints is refused: a registry cannot list its images.
func (r *ProtocolOCI) GetImageFingerprints() ([]string, error) {
	return nil, errOCIList
}

// GetImages is refused: a registry cannot list its images.
func (r *ProtocolOCI) GetImages() ([]api.Image, error) {
	return nil, errOCIList
}

// GetImage returns an image looked up by name before (GetImageAlias), by fingerprint.
func (r *ProtocolOCI) GetImage(fingerprint string) (*api.Image, string, error) {
	r.mu.Lock()
	img, ok := r.cache[fingerprint]
	r.mu.Unlock()
	if !ok {
		return nil, "", api.StatusErrorf(http.StatusNotFound, "image not found")
	}

	return img.API(), "", nil
}

// GetImageSecret is GetImage: registry images are public.
func (r *ProtocolOCI) GetImageSecret(fingerprint string, _ string) (*api.Image, string, error) {
	return r.GetImage(fingerprint)
}

// GetImageFile is refused: the daemon downloads registry images itself.
func (r *ProtocolOCI) GetImageFile(string, ImageFileRequest) (*ImageFileResponse, error) {
	return nil, errors.New("OCI images are downloaded by the server they are copied to")
}

// GetImageFileSecret is GetImageFile.
func (r *ProtocolOCI) GetImageFileSecret(fingerprint string, _ string, req ImageFileRequest) (*ImageFileResponse, error) {
	return r.GetImageFile(fingerprint, req)
}

// GetImageAliases is refused: a registry cannot list its images.
func (r *ProtocolOCI) GetImageAliases() ([]api.ImageAliasesEntry, error) {
	return nil, errors.New("can't list image aliases from OCI registry")
}

// GetImageAliasNames is refused: a registry cannot list its images.
func (r *ProtocolOCI) GetImageAliasNames() ([]string, error) {
	return nil, errors.New("can't list image aliases from OCI registry")
}

// GetImageAlias looks an image up by name in the registry: the alias names it, its target is its fingerprint.
func (r *ProtocolOCI) GetImageAlias(name string) (*api.ImageAliasesEntry, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := r.registry.Inspect(ctx, name)
	if errors.Is(err, oci.ErrNotFound) {
		return nil, "", api.StatusErrorf(http.StatusNotFound, "%v", err)
	}

	if err != nil {
		return nil, "", err
	}

	r.mu.Lock()
	r.cache[img.Fingerprint] = img
	r.mu.Unlock()
	alias := &api.ImageAliasesEntry{Name: name, Type: "container"}
	alias.Target = img.Fingerprint
	return alias, "", nil
}

// GetImageAliasType is GetImageAlias for containers; registries hold no virtual machine images.
func (r *ProtocolOCI) GetImageAliasType(imageType string, name string) (*api.ImageAliasesEntry, string, error) {
	if imageType == "virtual-machine" {
		return nil, "", fmt.Errorf("OCI images are only supported for containers")
	}

	return r.GetImageAlias(name)
}

var _ ImageServer = (*ProtocolOCI)(nil)
