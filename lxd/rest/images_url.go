package rest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
	"github.com/lxd-go/lxd/shared/version"
)

// webClient downloads from static web hosts: the system trust store (SSL_CERT_FILE and SSL_CERT_DIR are honoured),
// proxies from the environment, and redirects only to http(s).
func webClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport.ResponseHeaderTimeout = time.Minute
	return &http.Client{
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
	}
}

// parseWebURL accepts absolute http(s) URLs only.
func parseWebURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid URL %q: %v", raw, err)
	}

	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, api.StatusErrorf(http.StatusBadRequest, "unsupported URL scheme %q (only http and https)", u.Scheme)
	}

	if u.Host == "" {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid URL %q: no host", raw)
	}

	return u, nil
}

// imagesPostURL imports an image announced by a static web host: a HEAD request on the URL answers with the
// LXD-Image-Hash and LXD-Image-URL headers, and the file at LXD-Image-URL must hash to LXD-Image-Hash.
func imagesPostURL(s *state.State, r *http.Request, req api.ImagesPost) response.Response {
	source, err := parseWebURL(req.Source.URL)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	up := &imageUpload{public: req.Public, properties: req.Properties}
	run := func(ctx context.Context, op *operations.Operation) error {
		hash, fileURL, err := resolveWebImage(ctx, source)
		if err != nil {
			return err
		}

		// An image already in the store is not downloaded again.
		var existing *db.Image
		err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			existing, err = tx.GetImage(ctx, hash)
			return err
		})
		if err == nil {
			return op.UpdateMetadata(map[string]any{"fingerprint": existing.Fingerprint, "size": sizeString(existing.Size)})
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		pending, err := downloadWebImage(ctx, s, op, fileURL, hash)
		if err != nil {
			return err
		}

		up.filename = lastPathElement(fileURL)
		return storeImage(ctx, s, op, requestor, pending, up, req.Aliases)
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Downloading image",
		Requestor:   requestor,
		Run:         run,
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

func lastPathElement(u *url.URL) string {
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	return parts[len(parts)-1]
}

// resolveWebImage asks the web host where the image is and what its hash is.
func resolveWebImage(ctx context.Context, source *url.URL) (string, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, source.String(), nil)
	if err != nil {
		return "", nil, err
	}

	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("LXD-Server-Architectures", strings.Join(osarch.HostArchitectures(), ", "))
	req.Header.Set("LXD-Server-Version", version.Version)
	resp, err := webClient().Do(req)
	if err != nil {
		return "", nil, err
	}

	_ = resp.Body.Close()
	hash := strings.ToLower(strings.TrimSpace(resp.Header.Get("LXD-Image-Hash")))
	if hash == "" {
		return "", nil, fmt.Errorf("missing LXD-Image-Hash header from %s (HTTP %d)", source, resp.StatusCode)
	}

	if !images.ValidFingerprint(hash) {
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

	fileURL, err := parseWebURL(resp.Request.URL.ResolveReference(ref).String())
	if err != nil {
		return "", nil, err
	}

	return hash, fileURL, nil
}

// downloadWebImage streams the image file into the store, checking it against the announced hash.
func downloadWebImage(ctx context.Context, s *state.State, op *operations.Operation, fileURL *url.URL, hash string) (*images.Pending, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL.String(), nil)
	if err != nil {
		return nil, err
	}

	req.Header.Set("User-Agent", version.UserAgent())
	resp, err := webClient().Do(req)
	if err != nil {
		return nil, err
	}

	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: HTTP %d", fileURL, resp.StatusCode)
	}

	report := downloadReporter(op)
	pending, err := s.Images.ImportUnified(ctx, resp.Body, images.ImportOptions{
		ExpectedFingerprint: hash,
		Progress:            func(done int64) { report(done, resp.ContentLength) },
	})
	if err != nil {
		return nil, fmt.Errorf("image from %s: %w", fileURL, err)
	}

	return pending, nil
}

// downloadReporter returns a function reporting download progress in the operation's metadata, as LXD shows it
// ("download_progress": "42% (12.34MB/s)"), at most a few times a second; total is 0 when unknown.
func downloadReporter(op *operations.Operation) func(done int64, total int64) {
	var mu sync.Mutex
	start := time.Now()
	var last time.Time
	return func(done int64, total int64) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if now.Sub(last) < 250*time.Millisecond {
			return
		}

		last = now
		speed := float64(done) / now.Sub(start).Seconds() / 1e6
		text := fmt.Sprintf("%.2fMB (%.2fMB/s)", float64(done)/1e6, speed)
		if total > 0 {
			text = fmt.Sprintf("%d%% (%.2fMB/s)", done*100/total, speed)
		}

		_ = op.UpdateMetadata(map[string]any{"download_progress": text})
	}
}
