// Package oci reads container images from OCI and Docker registries (the distribution API v2): it parses image
// references as users write them, resolves a tag or digest to the manifest of the host's architecture, and opens
// the blobs it lists. Both the client (lxc image info, lxc launch) and the daemon (the pull) use it, so they agree on
// the name and fingerprint of every image.
package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
)

// Registry is a registry reached at a URL such as https://registry.example.com:5000, with the credentials the URL
// carries (https://user:password@host), if any.
type Registry struct {
	// URL is the registry's address as the remote was added, without credentials.
	URL string

	host     string
	insecure bool
	auth     authn.Authenticator

	// Transport, if set, replaces the default HTTP transport (the system's trust store, SSL_CERT_FILE honoured).
	Transport http.RoundTripper

	// UserAgent is sent with every request.
	UserAgent string

	// defaultTransport is the default transport, made once so that the requests of a pull share its connections.
	defaultOnce      sync.Once
	defaultTransport http.RoundTripper
}

// dockerHubHosts are the names Docker Hub is reached by; a one-element repository there is under library/.
var dockerHubHosts = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

// NewRegistry parses a registry URL: https (or http for a registry without TLS), a host and an optional port, and
// optional credentials for basic or token authentication.
func NewRegistry(rawURL string) (*Registry, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid registry URL %q: %w", rawURL, err)
	}

	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("invalid registry URL %q: an https URL with a host is needed", rawURL)
	}

	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("invalid registry URL %q: a registry URL has no path", rawURL)
	}

	r := &Registry{host: u.Host, insecure: u.Scheme == "http", auth: authn.Anonymous}
	if u.User != nil {
		password, _ := u.User.Password()
		r.auth = authn.FromConfig(authn.AuthConfig{Username: u.User.Username(), Password: password})
	}

	if dockerHubHosts[u.Hostname()] && u.Port() == "" {
		r.host = name.DefaultRegistry
	}

	clean := url.URL{Scheme: u.Scheme, Host: u.Host}
	r.URL = clean.String()
	return r, nil
}

// Reference parses an image name as users write it: NAME, NAME:TAG, NAME@DIGEST or NAME:TAG@DIGEST (the digest
// wins), with library/ implied for a one-element name on Docker Hub and the tag latest implied when neither a tag nor
// a digest is given.
func (r *Registry) Reference(image string) (name.Reference, error) {
	if image == "" || strings.Contains(image, "://") {
		return nil, fmt.Errorf("invalid image name %q", image)
	}

	repo, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		// A tag next to a digest says nothing more: the digest pins the image.
		slash := strings.LastIndex(repo, "/")
		colon := strings.LastIndex(repo, ":")
		if colon > slash {
			repo = repo[:colon]
		}
	}

	for _, elem := range strings.Split(repo, "/") {
		if elem == "." || elem == ".." || strings.HasPrefix(elem, "..") {
			return nil, fmt.Errorf("invalid image name %q", image)
		}
	}

	if r.host == name.DefaultRegistry && !strings.Contains(strings.SplitN(repo, ":", 2)[0], "/") {
		repo = "library/" + repo
	}

	full := r.host + "/" + repo
	if hasDigest {
		full += "@" + digest
	}

	opts := []name.Option{name.StrictValidation}
	if r.insecure {
		opts = append(opts, name.Insecure)
	}

	if !hasDigest && !hasTag(repo) {
		full += ":" + name.DefaultTag
	}

	ref, err := name.ParseReference(full, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid image name %q: %w", image, err)
	}

	return ref, nil
}

// hasTag tells whether a repository name ends with a tag.
func hasTag(repo string) bool {
	slash := strings.LastIndex(repo, "/")
	return strings.LastIndex(repo, ":") > slash
}

// options are the go-containerregistry options of every request to the registry.
func (r *Registry) options(ctx context.Context) []remote.Option {
	base := r.Transport
	if base == nil {
		r.defaultOnce.Do(func() { r.defaultTransport = http.DefaultTransport.(*http.Transport).Clone() })
		base = r.defaultTransport
	}

	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(r.auth),
		remote.WithTransport(&schemeTransport{base: base, host: r.host, secure: !r.insecure}),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 2}),
	}

	if r.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(r.UserAgent))
	}

	return opts
}

// schemeTransport keeps the requests to a registry given by an https URL on https: the library would otherwise
// speak plain HTTP to loopback and private addresses.
type schemeTransport struct {
	base   http.RoundTripper
	host   string
	secure bool
}

// RoundTrip sends req over https when it goes to the registry and the registry's URL is https.
func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.secure && req.URL.Scheme == "http" && req.URL.Host == t.host {
		clone := req.Clone(req.Context())
		clone.URL.Scheme = "https"
		return t.base.RoundTrip(clone)
	}

	return t.base.RoundTrip(req)
}

// Image is an image of a registry, resolved to one manifest.
type Image struct {
	// Reference is the image name as it was asked for.
	Reference string

	// Name is the repository, as the registry knows it (library/busybox).
	Name string

	// Fingerprint identifies the image in an image store: sha256 of its layer digests, written one after the
	// other.
	Fingerprint string

	// Digest is the manifest's digest.
	Digest string

	// Architecture is the image's architecture, as LXD names it (x86_64).
	Architecture string

	// Created is the image's creation date, from its configuration.
	Created time.Time

	// Config is the image configuration (entrypoint, command, environment...).
	Config *v1.ConfigFile

	// RawConfig is the configuration blob, as its digest was checked.
	RawConfig []byte

	// ConfigDigest is the configuration blob's digest.
	ConfigDigest string

	// Layers are the layer blobs, base first.
	Layers []v1.Descriptor

	ref      name.Reference
	registry *Registry
}

// Fingerprint is the image fingerprint of a layer list: sha256 of the digests ("sha256:..."), concatenated.
func Fingerprint(layers []string) string {
	h := sha256.New()
	for _, l := range layers {
		h.Write([]byte(l))
	}

	return hex.EncodeToString(h.Sum(nil))
}

// ErrNotFound is returned (wrapped) for an image, tag or blob the registry does not have.
var ErrNotFound = errors.New("not found in the registry")

// Inspect resolves image (a tag or a digest) to the manifest of the host's architecture and reads its
// configuration, checked against the digest the manifest gives.
func (r *Registry) Inspect(ctx context.Context, image string) (*Image, error) {
	ref, err := r.Reference(image)
	if err != nil {
		return nil, err
	}

	img, err := remote.Image(ref, r.options(ctx)...)
	if err != nil {
		return nil, registryError(image, err)
	}

	manifest, err := img.Manifest()
	if err != nil {
		return nil, registryError(image, err)
	}

	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}

	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, registryError(image, err)
	}

	i, err := newImage(image, ref.Context().RepositoryStr(), digest.String(), manifest, raw)
	if err != nil {
		return nil, err
	}

	i.ref, i.registry = ref, r
	return i, nil
}

// FromLayout describes the image of an OCI image layout, as a reference in a repository: its manifest (whose digest
// the caller checked against the layout's index) and its configuration, checked against the digest the manifest
// gives. Its blobs come from the layout, not from a registry: OpenBlob refuses.
func FromLayout(reference string, repository string, rawManifest []byte, rawConfig []byte) (*Image, error) {
	manifest, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("image %q: invalid manifest: %w", reference, err)
	}

	sum := sha256.Sum256(rawManifest)
	return newImage(reference, repository, "sha256:"+hex.EncodeToString(sum[:]), manifest, rawConfig)
}

// newImage checks the configuration raw of an image against the digest its manifest gives and describes the image.
func newImage(image string, repository string, digest string, manifest *v1.Manifest, raw []byte) (*Image, error) {
	sum := sha256.Sum256(raw)
	if manifest.Config.Digest.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != manifest.Config.Digest.Hex {
		return nil, fmt.Errorf("image %q: the configuration does not match its digest %s", image, manifest.Config.Digest)
	}

	config, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("image %q: invalid configuration: %w", image, err)
	}

	arch, err := osarch.Canonical(config.Architecture)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", image, err)
	}

	if len(manifest.Layers) == 0 {
		return nil, fmt.Errorf("image %q has no layers", image)
	}

	digests := make([]string, 0, len(manifest.Layers))
	for _, l := range manifest.Layers {
		digests = append(digests, l.Digest.String())
	}

	return &Image{
		Reference:    image,
		Name:         repository,
		Fingerprint:  Fingerprint(digests),
		Digest:       digest,
		Architecture: arch,
		Created:      config.Created.Time,
		Config:       config,
		RawConfig:    raw,
		ConfigDigest: manifest.Config.Digest.String(),
		Layers:       manifest.Layers,
	}, nil
}

// registryError words a registry failure, wrapping ErrNotFound for a missing image.
func registryError(image string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode)) {
		return fmt.Errorf("image %q: %w", image, ErrNotFound)
	}

	return fmt.Errorf("image %q: %w", image, err)
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}

	return false
}

// OpenBlob opens the blob a layer descriptor names, as the registry sends it (compressed). The caller checks its
// digest and size.
func (i *Image) OpenBlob(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	if i.registry == nil {
		return nil, fmt.Errorf("image %q: blob %s: the image does not come from a registry", i.Reference, d.Digest)
	}

	layer, err := remote.Layer(i.ref.Context().Digest(d.Digest.String()), i.registry.options(ctx)...)
	if err != nil {
		return nil, registryError(i.Reference, err)
	}

	rc, err := layer.Compressed()
	if err != nil {
		return nil, registryError(i.Reference, err)
	}

	return rc, nil
}

// Size is the sum of the layer blobs' sizes.
func (i *Image) Size() int64 {
	var n int64
	for _, l := range i.Layers {
		n += l.Size
	}

	return n
}

// Properties are the image properties an image of this registry gets in an image store.
func (i *Image) Properties() map[string]string {
	return map[string]string{
		"architecture": i.Architecture,
		"type":         "oci",
		"description":  fmt.Sprintf("%s (OCI)", i.Name),
		"id":           i.Reference,
	}
}

// API describes the image as an image server lists it.
func (i *Image) API() *api.Image {
	img := &api.Image{
		ImagePut:     api.ImagePut{Public: true, Properties: i.Properties()},
		Aliases:      []api.ImageAlias{{Name: i.Reference}},
		Architecture: i.Architecture,
		Fingerprint:  i.Fingerprint,
		Type:         "container",
		Size:         i.Size(),
		CreatedAt:    i.Created,
		UploadedAt:   i.Created,
	}

	return img
}
