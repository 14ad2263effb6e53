package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"sync"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/version"
)

// PullArgs are how a pull reports and who asked for it.
type PullArgs struct {
	// Progress receives the download progress and, at the end, the image's fingerprint and size.
	Progress Progress

	// Requestor is who asked, for the lifecycle event; nil for the daemon's own actions.
	Requestor *api.EventLifecycleRequestor
}

// CheckPull validates a pull from another server before anything starts.
func CheckPull(src *api.ImagesPostSource) error {
	if src.Mode != "" && src.Mode != "pull" {
		return errs.Invalid("image copy mode %q is not supported by this server (use pull)", src.Mode)
	}

	if !validServerURL(src.Server) {
		return errs.Invalid("invalid image server %q", src.Server)
	}

	if src.Alias == "" && src.Fingerprint == "" {
		return errs.Invalid("no alias or fingerprint of the image to copy")
	}

	return nil
}

// validServerURL tells whether server is an absolute http(s) URL.
func validServerURL(server string) bool {
	u, err := url.Parse(server)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// pullSource is another image server, LXD or simplestreams, read with a one-time secret when the image is private.
type pullSource struct {
	server client.ImageServer
	secret string
}

// connect connects to the server an image is pulled from, as an untrusted client: with the server certificate the
// request pins, or the system trust store.
func (m *Manager) connect(src *api.ImagesPostSource) (*pullSource, error) {
	args := &client.ConnectionArgs{TLSServerCert: src.Certificate, UserAgent: version.UserAgent()}
	switch src.Protocol {
	case "", "lxd":
		server, err := client.ConnectLXD(src.Server, args)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", src.Server, err)
		}

		// The image of another project of that server (image_source_project).
		if src.Project != "" {
			server = server.UseProject(src.Project)
		}

		return &pullSource{server: server, secret: src.Secret}, nil
	case "simplestreams":
		server, err := client.ConnectSimpleStreams(src.Server, args)
		if err != nil {
			return nil, err
		}

		// The documents are kept, so that an image already here is found by alias offline.
		if m.streamsCacheDir != "" {
			server.SetCacheDir(m.streamsCacheDir)
		}

		return &pullSource{server: server}, nil
	}

	return nil, errs.Invalid("unsupported image server protocol %q", src.Protocol)
}

// resolve finds the image a pull names: an alias first (the stock client sends public images' aliases in
// source.fingerprint), then a fingerprint or prefix. It returns the image and the alias it was found by, if any.
func (src *pullSource) resolve(name string) (*api.Image, string, error) {
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

// Pull copies the image a request names from another server into the store, unless it is there already, and
// returns it. The download streams into the store like an upload: hashed, validated and committed in one pass, the
// fingerprint recomputed from the bytes, never taken on the server's word. An image already here is returned as it
// is: Pull serves the daemon's own pulls (instance creation, refresh); a client's copy goes through Copy.
func (m *Manager) Pull(ctx context.Context, req api.ImagesPost, args PullArgs) (*db.Image, error) {
	img, _, err := m.pull(ctx, req, args)
	return img, err
}

// Copy is the pull a client asks for ("lxc image copy SRC:IMG DST:"). An image the store does not hold is pulled as
// Pull does. One it holds is not downloaded again: the request updates it, as LXD updates the row of an image it is
// asked to pull again (see updateCopied), and the source is recorded for auto-update.
func (m *Manager) Copy(ctx context.Context, req api.ImagesPost, args PullArgs) (*db.Image, error) {
	img, existing, err := m.pull(ctx, req, args)
	if err != nil || existing == nil {
		return img, err
	}

	err = m.updateCopied(ctx, img.Fingerprint, req, existing, args.Requestor)
	if err != nil {
		return nil, err
	}

	return img, nil
}

// pull is Pull. When the store held the image already, it also returns the source this pull found it at (for
// Copy), and nil otherwise.
func (m *Manager) pull(ctx context.Context, req api.ImagesPost, args PullArgs) (*db.Image, *db.ImageSource, error) {
	src := req.Source
	if src.Protocol == ProtocolOCI {
		return m.pullOCI(ctx, req, args)
	}

	server, err := m.connect(src)
	if err != nil {
		return nil, nil, err
	}

	stream, ok := server.server.(*client.ProtocolSimpleStreams)
	if ok {
		defer logStreamCache(stream, src.Server)
	}

	name := src.Alias
	if name == "" {
		name = src.Fingerprint
	}

	info, alias, err := server.resolve(name)
	if err != nil {
		return nil, nil, err
	}

	source := &db.ImageSource{
		Server:      src.Server,
		Protocol:    protocolName(src.Protocol),
		Certificate: src.Certificate,
		Alias:       alias,
		ImageType:   src.ImageType,
	}

	img, err := m.existing(ctx, info.Fingerprint)
	if err != nil {
		return nil, nil, err
	}

	if img != nil {
		report(args.Progress, Result(img))
		return img, source, nil
	}

	props := maps.Clone(info.Properties)
	if props == nil {
		props = map[string]string{}
	}

	maps.Copy(props, req.Properties)
	storeArgs := pulledArgs(req, props, source, args)
	img, err = m.adoptPulled(ctx, info.Fingerprint, storeArgs, args.Progress)
	if err != nil || img != nil {
		return img, nil, err
	}

	// An OCI image's fingerprint is of its layers: they are what travels, when the server has them.
	layers := info.Properties["type"] == ProtocolOCI && protocolName(src.Protocol) == "lxd"
	var pending *images.Pending
	if layers {
		pending, err = m.pullLayout(ctx, server, info, args.Progress)
		layers = !errors.Is(err, client.ErrNoLayout)
	}

	if !layers {
		pending, err = m.download(ctx, server, info, args.Progress)
	}

	if err != nil {
		return nil, nil, err
	}

	img, err = m.Store(ctx, pending, storeArgs)
	if err != nil {
		if layers && !errors.Is(err, errs.ErrConflict) {
			m.forgetOCI(info.Fingerprint)
		}

		return nil, nil, err
	}

	report(args.Progress, Result(img))
	return img, nil, nil
}

// pulledArgs is the record of an image a pull asked for: props are its properties, the source's overridden by the
// request's.
func pulledArgs(req api.ImagesPost, props map[string]string, source *db.ImageSource, args PullArgs) StoreArgs {
	return StoreArgs{
		Public:     req.Public,
		Properties: props,
		AutoUpdate: req.AutoUpdate,
		Source:     source,
		Aliases:    req.Aliases,
		Requestor:  args.Requestor,
	}
}

// adoptPulled records here the image fp a pull asked for when another project holds it, without a download, and
// reports it as the pull's result; nil when no project holds it.
func (m *Manager) adoptPulled(ctx context.Context, fp string, storeArgs StoreArgs, progress Progress) (*db.Image, error) {
	img, err := m.adopt(ctx, fp, storeArgs)
	if err == nil && img != nil {
		report(progress, Result(img))
	}

	return img, err
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

// download streams an image from server into the store: the download writes the parts into pipes the import
// reads, so the bytes are received, hashed, written and validated in one pass.
func (m *Manager) download(ctx context.Context, src *pullSource, info *api.Image, progress Progress) (*images.Pending, error) {
	reportProgress := downloadReporter(progress)
	metaR, metaW := io.Pipe()
	rootR, rootW := io.Pipe()
	rootfs := &firstWriter{w: rootW, before: func() { _ = metaW.Close() }}

	var dlErr error
	var dl *client.ImageFileResponse
	done := make(chan struct{})
	go func() {
		defer close(done)
		dl, dlErr = src.server.GetImageFileSecret(info.Fingerprint, src.secret, client.ImageFileRequest{
			MetaFile:        metaW,
			RootfsFile:      rootfs,
			ProgressHandler: reportProgress,
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

	pending, err := m.store.ImportAuto(ctx, metaR, next, images.ImportOptions{ExpectedFingerprint: info.Fingerprint, WriteBase: true})

	// Unblock the download if the import stopped early, then wait for it.
	_ = metaR.CloseWithError(errors.New("import ended"))
	_ = rootR.CloseWithError(errors.New("import ended"))
	<-done
	if dlErr == nil && dl.ContentHash != "" {
		// The fingerprint is not the files' hash: nothing here can check the files against it.
		dlErr = errs.Invalid("image %s is an OCI image, whose fingerprint is derived from its layers, and its server "+
			"does not send them: copy it from its registry, or export it and import its files", info.Fingerprint)
	}

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

// firstWriter runs before once, ahead of the first write.
type firstWriter struct {
	w      io.Writer
	before func()
	once   sync.Once
	wrote  bool
	mu     sync.Mutex
}

func (f *firstWriter) Write(p []byte) (int, error) {
	f.once.Do(func() {
		f.mu.Lock()
		f.wrote = true
		f.mu.Unlock()
		f.before()
	})

	return f.w.Write(p)
}

func (f *firstWriter) started() bool {
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
