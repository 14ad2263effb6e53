package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/version"
)

// pullSource is another image server, LXD or simplestreams, read with a one-time secret when the image is private.
type pullSource struct {
	server client.ImageServer
	secret string
}

// connectPullSource connects to the server an image is pulled from, as an untrusted client: with the server
// certificate the request pins, or the system trust store.
func connectPullSource(src *api.ImagesPostSource) (*pullSource, error) {
	args := &client.ConnectionArgs{TLSServerCert: src.Certificate, UserAgent: version.UserAgent()}
	switch src.Protocol {
	case "", "lxd":
		server, err := client.ConnectLXD(src.Server, args)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", src.Server, err)
		}

		return &pullSource{server: server, secret: src.Secret}, nil
	case "simplestreams":
		server, err := client.ConnectSimpleStreams(src.Server, args)
		if err != nil {
			return nil, err
		}

		return &pullSource{server: server}, nil
	}

	return nil, api.StatusErrorf(http.StatusBadRequest, "unsupported image server protocol %q", src.Protocol)
}

// resolvePull finds the image a pull names: an alias first (the stock client sends public images' aliases in
// source.fingerprint), then a fingerprint or prefix. It returns the image and the alias it was found by, if any.
func resolvePull(src *pullSource, name string) (*api.Image, string, error) {
	alias, _, err := src.server.GetImageAlias(name)
	if err == nil {
		img, _, err := src.server.GetImageSecret(alias.Target, src.secret)
		if err != nil {
			return nil, "", err
		}

		return img, name, nil
	}

	img, _, err := src.server.GetImageSecret(name, src.secret)
	if err != nil {
		return nil, "", fmt.Errorf("image %q not found on the source server: %w", name, err)
	}

	return img, "", nil
}

// imagesPostPull copies an image from another server. The download streams into the store like an upload: hashed,
// validated and committed in one pass, the fingerprint recomputed from the bytes, never taken on the server's word.
func imagesPostPull(s *state.State, r *http.Request, req api.ImagesPost) response.Response {
	src := req.Source
	if src.Mode != "" && src.Mode != "pull" {
		return response.BadRequest(fmt.Errorf("image copy mode %q is not supported by this server (use pull)", src.Mode))
	}

	u, err := url.Parse(src.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return response.BadRequest(fmt.Errorf("invalid image server %q", src.Server))
	}

	name := src.Alias
	if name == "" {
		name = src.Fingerprint
	}

	if name == "" {
		return response.BadRequest(errors.New("no alias or fingerprint of the image to copy"))
	}

	requestor := request.GetRequestor(r)
	run := func(ctx context.Context, op *operations.Operation) error {
		_, err := pullImage(ctx, s, op, requestor, req)
		return err
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

// pullImage downloads the image a pull request names into the store, unless it is there already, and returns its
// fingerprint.
func pullImage(ctx context.Context, s *state.State, op *operations.Operation, requestor *request.Requestor, req api.ImagesPost) (string, error) {
	src := req.Source
	server, err := connectPullSource(src)
	if err != nil {
		return "", err
	}

	// A simplestreams server's documents are kept, so that an image already here is found by alias offline.
	stream, ok := server.server.(*client.ProtocolSimpleStreams)
	if ok {
		stream.SetCacheDir(filepath.Join(s.Dirs.Var, "cache", "simplestreams"))
		defer logStreamCache(stream, src.Server)
	}

	name := src.Alias
	if name == "" {
		name = src.Fingerprint
	}

	info, alias, err := resolvePull(server, name)
	if err != nil {
		return "", err
	}

	fp := info.Fingerprint
	var existing *db.Image
	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		existing, err = tx.GetImage(ctx, fp)
		return err
	})
	if err == nil {
		return fp, op.UpdateMetadata(map[string]any{"fingerprint": fp, "size": sizeString(existing.Size)})
	}

	if !errors.Is(err, errs.ErrNotFound) {
		return "", err
	}

	pending, err := downloadImage(ctx, s, op, server, info)
	if err != nil {
		return "", err
	}

	props := map[string]string{}
	for k, v := range info.Properties {
		props[k] = v
	}

	for k, v := range req.Properties {
		props[k] = v
	}

	up := &imageUpload{
		public:     req.Public,
		properties: props,
		autoUpdate: req.AutoUpdate,
		source: &db.ImageSource{
			Server:      src.Server,
			Protocol:    protocolName(src.Protocol),
			Certificate: src.Certificate,
			Alias:       alias,
			ImageType:   src.ImageType,
		},
	}

	err = storeImage(ctx, s, op, requestor, pending, up, req.Aliases)
	if err != nil {
		return "", err
	}

	return fp, nil
}

// logStreamCache notes a pull that resolved its image from the cached documents of an unreachable server.
func logStreamCache(stream *client.ProtocolSimpleStreams, server string) {
	at, cached := stream.CachedAt()
	if cached {
		slog.Warn("simplestreams server unreachable, using its cached index", "server", server, "fetched_at", at)
	}
}

func protocolName(p string) string {
	if p == "" {
		return "lxd"
	}

	return p
}

// downloadImage streams an image from server into the store: the download writes the parts into pipes the import
// reads, so the bytes are received, hashed, written and validated in one pass.
func downloadImage(ctx context.Context, s *state.State, op *operations.Operation, src *pullSource, info *api.Image) (*images.Pending, error) {
	report := downloadReporter(op)
	metaR, metaW := io.Pipe()
	rootR, rootW := io.Pipe()
	rootfs := &firstWriteCloser{w: rootW, before: func() { _ = metaW.Close() }}

	var dlErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, dlErr = src.server.GetImageFileSecret(info.Fingerprint, src.secret, client.ImageFileRequest{
			MetaFile:   metaW,
			RootfsFile: rootfs,
			ProgressHandler: func(received int64, total int64) {
				report(received, total)
			},
		})

		// Whatever happened, both readers must end: a unified image closes the metadata pipe here.
		if dlErr != nil {
			_ = metaW.CloseWithError(dlErr)
			_ = rootW.CloseWithError(dlErr)
			return
		}

		_ = metaW.Close()
		if rootfs.started() {
			_ = rootW.Close()
		} else {
			_ = rootW.CloseWithError(io.EOF)
		}
	}()

	next := func() (io.Reader, error) {
		// The rootfs pipe yields either bytes (a split image) or, when the download ended without any, io.EOF.
		br := &peekReader{r: rootR}
		err := br.peek()
		if err != nil {
			return nil, err
		}

		return br, nil
	}

	pending, err := s.Images.ImportAuto(ctx, metaR, next, images.ImportOptions{ExpectedFingerprint: info.Fingerprint})

	// Unblock the download if the import stopped early, then wait for it.
	_ = metaR.CloseWithError(errors.New("import ended"))
	_ = rootR.CloseWithError(errors.New("import ended"))
	<-done
	if dlErr != nil {
		if pending != nil {
			pending.Abort()
		}

		return nil, fmt.Errorf("failed remote image download: %w", dlErr)
	}

	if err != nil {
		return nil, err
	}

	return pending, nil
}

// firstWriteCloser runs before once, ahead of the first write.
type firstWriteCloser struct {
	w      io.Writer
	before func()
	once   sync.Once
	wrote  bool
	mu     sync.Mutex
}

func (f *firstWriteCloser) Write(p []byte) (int, error) {
	f.once.Do(func() {
		f.mu.Lock()
		f.wrote = true
		f.mu.Unlock()
		f.before()
	})

	return f.w.Write(p)
}

func (f *firstWriteCloser) started() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wrote
}

// peekReader reads ahead one byte to tell an empty stream (io.EOF) from one with data.
type peekReader struct {
	r    io.Reader
	head []byte
}

func (p *peekReader) peek() error {
	buf := make([]byte, 1)
	for {
		n, err := p.r.Read(buf)
		if n > 0 {
			p.head = buf[:n]
			return nil
		}

		if err != nil {
			return err
		}
	}
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}

	return p.r.Read(b)
}
