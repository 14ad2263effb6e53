package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lxd-go/lxd/shared/osarch"
)

// WebImageHost reads images from a static web host: a HEAD request on an image's URL answers with the
// LXD-Image-Hash and LXD-Image-URL headers, and the file at LXD-Image-URL is the image (a unified tarball).
type WebImageHost struct {
	client    *http.Client
	userAgent string
	version   string
}

// NewWebImageHost returns a client of static web image hosts sending userAgent, and version as
// LXD-Server-Version. It uses the system trust store (SSL_CERT_FILE and SSL_CERT_DIR are honoured) and proxies from
// the environment, and follows redirects only to http(s).
func NewWebImageHost(userAgent string, version string) *WebImageHost {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport.ResponseHeaderTimeout = time.Minute
	return &WebImageHost{
		userAgent: userAgent,
		version:   version,
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 10 {
					return errors.New("too many redirects")
				}

				if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
					return fmt.Errorf("redirect to unsupported URL scheme %q", req.URL.Scheme)
				}

				// Redirects carry the original headers, as LXD does.
				for k, v := range via[0].Header {
					req.Header[k] = v
				}

				return nil
			},
		},
	}
}

// ParseWebURL accepts absolute http(s) URLs only.
func ParseWebURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %v", raw, err)
	}

	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported URL scheme %q (only http and https)", u.Scheme)
	}

	if u.Host == "" {
		return nil, fmt.Errorf("invalid URL %q: no host", raw)
	}

	return u, nil
}

// ResolveImage asks the host where the image announced at source is and what its hash is. It returns the
// LXD-Image-Hash header (a lowercase sha256) and the absolute URL of the file.
func (h *WebImageHost) ResolveImage(ctx context.Context, source *url.URL) (string, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, source.String(), nil)
	if err != nil {
		return "", nil, err
	}

	req.Header.Set("User-Agent", h.userAgent)
	req.Header.Set("LXD-Server-Architectures", strings.Join(osarch.HostArchitectures(), ", "))
	req.Header.Set("LXD-Server-Version", h.version)
	resp, err := h.client.Do(req)
	if err != nil {
		return "", nil, err
	}

	_ = resp.Body.Close()
	hash := strings.ToLower(strings.TrimSpace(resp.Header.Get("LXD-Image-Hash")))
	if hash == "" {
		return "", nil, fmt.Errorf("missing LXD-Image-Hash header from %s (HTTP %d)", source, resp.StatusCode)
	}

	if !validSHA256(hash) {
		return "", nil, fmt.Errorf("invalid LXD-Image-Hash header %q from %s", hash, source)
	}

	location := strings.TrimSpace(resp.Header.Get("LXD-Image-URL"))
	if location == "" {
		return "", nil, fmt.Errorf("missing LXD-Image-URL header from %s (HTTP %d)", source, resp.StatusCode)
	}

	ref, err := url.Parse(location)
	if err != nil {
		return "", nil, fmt.Errorf("invalid LXD-Image-URL header %q: %w", location, err)
	}

	fileURL, err := ParseWebURL(resp.Request.URL.ResolveReference(ref).String())
	if err != nil {
		return "", nil, err
	}

	return hash, fileURL, nil
}

// OpenImage starts the download of the image file at fileURL. It returns the body, which the caller closes, and
// its length (-1 when unknown).
func (h *WebImageHost) OpenImage(ctx context.Context, fileURL *url.URL) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL.String(), nil)
	if err != nil {
		return nil, 0, err
	}

	req.Header.Set("User-Agent", h.userAgent)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, 0, err
	}

	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, 0, fmt.Errorf("download %s: HTTP %d", fileURL, resp.StatusCode)
	}

	return resp.Body, resp.ContentLength, nil
}

// validSHA256 reports whether s is 64 lowercase hexadecimal digits.
func validSHA256(s string) bool {
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
