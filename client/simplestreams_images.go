package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/osarch"
	"github.com/lxd-go/lxd/shared/tlsutil"
	"github.com/lxd-go/lxd/simplestreams"
)

// ProtocolSimpleStreams is a read-only image server speaking simplestreams (streams/v1/index.json and its products).
type ProtocolSimpleStreams struct {
	base       *url.URL
	httpClient *http.Client
	userAgent  string
	serverCert string
	cacheDir   string

	mu       sync.Mutex
	images   []simplestreams.Image
	aliases  []api.ImageAliasesEntry
	cachedAt time.Time
}

// ConnectSimpleStreams connects to a simplestreams server. With args.TLSServerCert set that certificate is pinned;
// otherwise the system trust store is used.
func ConnectSimpleStreams(rawURL string, args *ConnectionArgs) (*ProtocolSimpleStreams, error) {
	if args == nil {
		args = &ConnectionArgs{}
	}

	u, err := url.Parse(strings.TrimSuffix(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}

	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("invalid URL %q: only https:// and http:// are supported", rawURL)
	}

	tlsConfig, err := tlsutil.ClientConfig(nil, []byte(args.TLSServerCert))
	if err != nil {
		return nil, err
	}

	// Public mirrors and CDNs may not offer TLS 1.3 yet.
	tlsConfig.MinVersion = tls.VersionTLS12
	transport := &http.Transport{
		TLSClientConfig:       tlsConfig,
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
	}

	return &ProtocolSimpleStreams{
		base:       u,
		httpClient: &http.Client{Transport: transport},
		userAgent:  args.UserAgent,
		serverCert: args.TLSServerCert,
	}, nil
}

// GetConnectionInfo describes the connection.
func (c *ProtocolSimpleStreams) GetConnectionInfo() (*ConnectionInfo, error) {
	return &ConnectionInfo{URL: c.base.String(), Protocol: "simplestreams", Certificate: c.serverCert}, nil
}

// GetHTTPClient returns the HTTP client of the connection.
func (c *ProtocolSimpleStreams) GetHTTPClient() (*http.Client, error) {
	return c.httpClient, nil
}

// Disconnect closes idle connections.
func (c *ProtocolSimpleStreams) Disconnect() {
	c.httpClient.CloseIdleConnections()
}

// fileURL resolves a path of the tree against the server's base URL, refusing paths that leave it.
func (c *ProtocolSimpleStreams) fileURL(p string) (string, error) {
	clean := path.Clean("/" + p)
	if strings.Contains(p, "..") || strings.Contains(p, "://") || clean == "/" {
		return "", fmt.Errorf("invalid path %q in the simplestreams tree", p)
	}

	return strings.TrimSuffix(c.base.String(), "/") + clean, nil
}

// unreachableError is a failure to get an answer from the server, as opposed to an answer refusing the request.
type unreachableError struct {
	err error
}

// Error returns the message of the underlying error.
func (e *unreachableError) Error() string {
	return e.err.Error()
}

// Unwrap returns the underlying error.
func (e *unreachableError) Unwrap() error {
	return e.err
}

func (c *ProtocolSimpleStreams) get(ctx context.Context, p string) (*http.Response, error) {
	u, err := c.fileURL(p)
	if err != nil {
		return nil, err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}

	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, &unreachableError{err: err}
	}

	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, api.StatusErrorf(resp.StatusCode, "%s: %s", u, http.StatusText(resp.StatusCode))
	}

	return resp, nil
}

func (c *ProtocolSimpleStreams) getDocument(p string) ([]byte, error) {
	resp, err := c.get(context.Background(), p)
	if err != nil {
		return nil, err
	}

	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, simplestreams.MaxDocument+1))
	if err != nil {
		return nil, err
	}

	if len(data) > simplestreams.MaxDocument {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, simplestreams.MaxDocument)
	}

	return data, nil
}

// SetCacheDir keeps the stream's index and products in dir after every complete read, with their fetch time, and
// makes them the fallback when the server cannot be reached (an answer from the server, even an error, is not
// replaced by the cache). The cache is keyed by the server URL and the pinned certificate.
func (c *ProtocolSimpleStreams) SetCacheDir(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cacheDir = dir
}

// CachedAt returns when the documents in use were fetched, when they come from the cache rather than the server.
func (c *ProtocolSimpleStreams) CachedAt() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cachedAt, !c.cachedAt.IsZero()
}

// streamCache is the cached copy of a stream's documents.
type streamCache struct {
	Server    string            `json:"server"`
	FetchedAt time.Time         `json:"fetched_at"`
	Documents map[string]string `json:"documents"`
}

// cachePath is the cache file of the stream, or "" without a cache.
func (c *ProtocolSimpleStreams) cachePath() string {
	if c.cacheDir == "" {
		return ""
	}

	sum := sha256.Sum256([]byte(c.base.String() + "\n" + c.serverCert))
	return filepath.Join(c.cacheDir, hex.EncodeToString(sum[:16])+".json")
}

func (c *ProtocolSimpleStreams) readCache() (*streamCache, error) {
	p := c.cachePath()
	if p == "" {
		return nil, os.ErrNotExist
	}

	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}

	var cached streamCache
	err = json.Unmarshal(data, &cached)
	if err != nil {
		return nil, fmt.Errorf("invalid simplestreams cache %s: %w", p, err)
	}

	if cached.Server != c.base.String() {
		return nil, fmt.Errorf("simplestreams cache %s is for %s", p, cached.Server)
	}

	return &cached, nil
}

// writeCache stores the documents through a temporary file renamed over the old copy.
func (c *ProtocolSimpleStreams) writeCache(docs map[string]string) error {
	p := c.cachePath()
	if p == "" {
		return nil
	}

	data, err := json.Marshal(streamCache{Server: c.base.String(), FetchedAt: time.Now().UTC(), Documents: docs})
	if err != nil {
		return err
	}

	err = os.MkdirAll(c.cacheDir, 0o700)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(p, data, 0o600)
}

// fetchDocuments reads the index and the products files it lists from the server.
func (c *ProtocolSimpleStreams) fetchDocuments() (map[string]string, error) {
	data, err := c.getDocument(simplestreams.IndexPath)
	if err != nil {
		return nil, fmt.Errorf("failed parsing stream: %w", err)
	}

	docs := map[string]string{simplestreams.IndexPath: string(data)}
	index, err := simplestreams.ParseIndex(data)
	if err != nil {
		return nil, err
	}

	for _, p := range index.ImageStreams() {
		data, err := c.getDocument(p)
		if err != nil {
			return nil, err
		}

		docs[p] = string(data)
	}

	return docs, nil
}

// parseDocuments turns the index and products into images and aliases.
func parseDocuments(docs map[string]string) ([]simplestreams.Image, []api.ImageAliasesEntry, error) {
	index, err := simplestreams.ParseIndex([]byte(docs[simplestreams.IndexPath]))
	if err != nil {
		return nil, nil, err
	}

	images := []simplestreams.Image{}
	aliases := []api.ImageAliasesEntry{}
	for _, p := range index.ImageStreams() {
		data, ok := docs[p]
		if !ok {
			return nil, nil, fmt.Errorf("products file %s missing", p)
		}

		products, err := simplestreams.ParseProducts([]byte(data))
		if err != nil {
			return nil, nil, err
		}

		imgs, as := products.Images(osarch.Host())
		images = append(images, imgs...)
		aliases = append(aliases, as...)
	}

	return images, aliases, nil
}

// load reads the index and its products once per connection, from the server or, when it cannot be reached, from
// the cache.
func (c *ProtocolSimpleStreams) load() ([]simplestreams.Image, []api.ImageAliasesEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.images != nil {
		return c.images, c.aliases, nil
	}

	docs, err := c.fetchDocuments()
	if err != nil {
		// A server that answered is not offline: its answer stands.
		var unreachable *unreachableError
		if !errors.As(err, &unreachable) {
			return nil, nil, err
		}

		cached, cacheErr := c.readCache()
		if cacheErr != nil {
			return nil, nil, err
		}

		images, aliases, parseErr := parseDocuments(cached.Documents)
		if parseErr != nil {
			return nil, nil, err
		}

		c.images, c.aliases, c.cachedAt = images, aliases, cached.FetchedAt
		return images, aliases, nil
	}

	images, aliases, err := parseDocuments(docs)
	if err != nil {
		return nil, nil, err
	}

	// The cache is a convenience: failing to write it does not fail the read.
	_ = c.writeCache(docs)
	c.images, c.aliases = images, aliases
	return images, aliases, nil
}

// GetImages returns the images of the stream.
func (c *ProtocolSimpleStreams) GetImages() ([]api.Image, error) {
	images, _, err := c.load()
	if err != nil {
		return nil, err
	}

	out := make([]api.Image, 0, len(images))
	for _, img := range images {
		out = append(out, img.Image)
	}

	return out, nil
}

// GetImageFingerprints returns the fingerprints of the images of the stream.
func (c *ProtocolSimpleStreams) GetImageFingerprints() ([]string, error) {
	images, _, err := c.load()
	if err != nil {
		return nil, err
	}

	out := make([]string, 0, len(images))
	for _, img := range images {
		out = append(out, img.Fingerprint)
	}

	return out, nil
}

// findImage finds an image by fingerprint or unique prefix.
func (c *ProtocolSimpleStreams) findImage(fingerprint string) (*simplestreams.Image, error) {
	images, _, err := c.load()
	if err != nil {
		return nil, err
	}

	var found *simplestreams.Image
	for i := range images {
		if fingerprint == "" || !strings.HasPrefix(images[i].Fingerprint, fingerprint) {
			continue
		}

		if found != nil && found.Fingerprint != images[i].Fingerprint {
			return nil, api.StatusErrorf(http.StatusBadRequest, "more than one image matches %q", fingerprint)
		}

		found = &images[i]
	}

	if found == nil {
		return nil, api.StatusErrorf(http.StatusNotFound, "image %q not found", fingerprint)
	}

	return found, nil
}

// GetImage returns an image by fingerprint or unique prefix.
func (c *ProtocolSimpleStreams) GetImage(fingerprint string) (*api.Image, string, error) {
	img, err := c.findImage(fingerprint)
	if err != nil {
		return nil, "", err
	}

	out := img.Image
	return &out, "", nil
}

// GetImageAliases returns the aliases of the stream.
func (c *ProtocolSimpleStreams) GetImageAliases() ([]api.ImageAliasesEntry, error) {
	_, aliases, err := c.load()
	return aliases, err
}

// GetImageAliasNames returns the names of the aliases of the stream.
func (c *ProtocolSimpleStreams) GetImageAliasNames() ([]string, error) {
	_, aliases, err := c.load()
	if err != nil {
		return nil, err
	}

	out := make([]string, 0, len(aliases))
	for _, a := range aliases {
		out = append(out, a.Name)
	}

	return out, nil
}

// GetImageAlias returns an alias of the stream.
func (c *ProtocolSimpleStreams) GetImageAlias(name string) (*api.ImageAliasesEntry, string, error) {
	_, aliases, err := c.load()
	if err != nil {
		return nil, "", err
	}

	for _, a := range aliases {
		if a.Name == name {
			out := a
			return &out, "", nil
		}
	}

	return nil, "", api.NewStatusError(http.StatusNotFound, "image alias not found")
}

// GetImageFile downloads the files of an image, checking each file's sha256 as the stream lists it and the
// fingerprint recomputed over all of them.
func (c *ProtocolSimpleStreams) GetImageFile(fingerprint string, req ImageFileRequest) (*ImageFileResponse, error) {
	if req.MetaFile == nil {
		return nil, errors.New("image download without a metadata file")
	}

	img, err := c.findImage(fingerprint)
	if err != nil {
		return nil, err
	}

	if img.Rootfs != nil && req.RootfsFile == nil {
		return nil, errors.New("split image download without a rootfs file")
	}

	total := img.Meta.Size
	if img.Rootfs != nil {
		total += img.Rootfs.Size
	}

	combined := sha256.New()
	counter := &progressCounter{handler: req.ProgressHandler, total: total}
	resp := &ImageFileResponse{MetaName: path.Base(img.Meta.Path)}
	resp.MetaSize, err = c.download(img.Meta, io.MultiWriter(req.MetaFile, combined, counter))
	if err != nil {
		return nil, err
	}

	if img.Rootfs != nil {
		resp.RootfsName = path.Base(img.Rootfs.Path)
		resp.RootfsSize, err = c.download(*img.Rootfs, io.MultiWriter(req.RootfsFile, combined, counter))
		if err != nil {
			return nil, err
		}
	}

	resp.Size = resp.MetaSize + resp.RootfsSize
	got := hex.EncodeToString(combined.Sum(nil))
	if got != img.Fingerprint {
		return nil, fmt.Errorf("image fingerprint doesn't match: got %s, expected %s", got, img.Fingerprint)
	}

	return resp, nil
}

// download copies one file of the tree to w, checking its sha256.
func (c *ProtocolSimpleStreams) download(f simplestreams.File, w io.Writer) (int64, error) {
	resp, err := c.get(context.Background(), f.Path)
	if err != nil {
		return 0, err
	}

	defer func() { _ = resp.Body.Close() }()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, sum), resp.Body)
	if err != nil {
		return n, fmt.Errorf("download %s: %w", f.Path, err)
	}

	got := hex.EncodeToString(sum.Sum(nil))
	if got != f.SHA256 {
		return n, fmt.Errorf("hash mismatch for %s: %s != %s", f.Path, got, f.SHA256)
	}

	return n, nil
}

// GetImageSecret is GetImage: simplestreams images are public.
func (c *ProtocolSimpleStreams) GetImageSecret(fingerprint string, secret string) (*api.Image, string, error) {
	return c.GetImage(fingerprint)
}

// GetImageFileSecret is GetImageFile: simplestreams images are public.
func (c *ProtocolSimpleStreams) GetImageFileSecret(fingerprint string, secret string, req ImageFileRequest) (*ImageFileResponse, error) {
	return c.GetImageFile(fingerprint, req)
}

// GetImageAliasType returns an alias of the stream pointing at an image of the given type ("" for any).
func (c *ProtocolSimpleStreams) GetImageAliasType(imageType string, name string) (*api.ImageAliasesEntry, string, error) {
	alias, etag, err := c.GetImageAlias(name)
	if err != nil {
		return nil, "", err
	}

	if imageType != "" && alias.Type != imageType {
		return nil, "", api.NewStatusError(http.StatusNotFound, "image alias not found")
	}

	return alias, etag, nil
}

var _ ImageServer = (*ProtocolSimpleStreams)(nil)
