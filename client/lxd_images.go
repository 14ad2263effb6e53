package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// ImageCreateArgs is the content of an image upload: one tarball (unified image) or a metadata tarball and a rootfs
// (split image).
type ImageCreateArgs struct {
	// MetaFile is the unified tarball, or the metadata tarball of a split image.
	MetaFile io.Reader

	// MetaName is the file name of MetaFile, sent to the server as X-LXD-filename.
	MetaName string

	// RootfsFile is the rootfs of a split image; nil for a unified image.
	RootfsFile io.Reader

	// RootfsName is the file name of RootfsFile.
	RootfsName string

	// ProgressHandler is called as the upload goes, with the bytes sent so far and the total (0 when unknown).
	ProgressHandler func(sent int64, total int64)

	// Type is container or virtual-machine; a virtual-machine rootfs is sent as the part "rootfs.img".
	Type string

	// Secret and Fingerprint are sent (X-LXD-secret, X-LXD-fingerprint) when pushing to a server that handed out
	// an upload secret.
	Secret      string
	Fingerprint string
}

// ImageFileRequest says where the files of an exported image go.
type ImageFileRequest struct {
	// MetaFile receives the unified tarball, or the metadata tarball of a split image.
	MetaFile io.Writer

	// RootfsFile receives the rootfs of a split image.
	RootfsFile io.Writer

	// ProgressHandler is called as the download goes, with the bytes received so far and the total (0 when unknown).
	ProgressHandler func(received int64, total int64)
}

// ImageFileResponse describes the files of an exported image.
type ImageFileResponse struct {
	// Size is the number of bytes received in all.
	Size int64

	// MetaSize and MetaName are the size and server-side file name of the unified or metadata tarball.
	MetaSize int64
	MetaName string

	// RootfsSize and RootfsName are those of the rootfs of a split image (0 and "" for a unified image).
	RootfsSize int64
	RootfsName string

	// ContentHash is set for an image whose fingerprint is not the sha256 of its files (an OCI image's is derived
	// from its layers): the sha256 of the files, which the download was checked against instead.
	ContentHash string
}

// GetImageFingerprints returns the fingerprints of the images.
func (c *ProtocolLXD) GetImageFingerprints() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/images", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	fingerprints := make([]string, 0, len(urls))
	for _, u := range urls {
		fp, err := lastPathElement(u, "/1.0/images/")
		if err != nil {
			return nil, err
		}

		fingerprints = append(fingerprints, fp)
	}

	return fingerprints, nil
}

// GetImages returns the images.
func (c *ProtocolLXD) GetImages() ([]api.Image, error) {
	images := []api.Image{}
	_, err := c.queryStruct(http.MethodGet, "/images?recursion=1", nil, "", &images)
	if err != nil {
		return nil, err
	}

	return images, nil
}

// GetImagesWithFilter returns the images matching all the "key=value" filters, filtered by the server.
func (c *ProtocolLXD) GetImagesWithFilter(filters []string) ([]api.Image, error) {
	images := []api.Image{}
	v := url.Values{}
	v.Set("filter", serverFilter(filters))
	v.Set("recursion", "1")
	_, err := c.queryStruct(http.MethodGet, "/images?"+v.Encode(), nil, "", &images)
	if err != nil {
		return nil, err
	}

	return images, nil
}

// serverFilter turns "key=value" filters into the API filter expression "key eq value and ...".
func serverFilter(filters []string) string {
	clauses := make([]string, 0, len(filters))
	for _, f := range filters {
		key, value, _ := strings.Cut(f, "=")
		clauses = append(clauses, key+" eq "+value)
	}

	return strings.Join(clauses, " and ")
}

// GetImage returns an image, by fingerprint or unique fingerprint prefix, and its ETag.
func (c *ProtocolLXD) GetImage(fingerprint string) (*api.Image, string, error) {
	return c.GetImageSecret(fingerprint, "")
}

// GetImageSecret is GetImage for an untrusted caller holding a one-time image secret (none when secret is "").
func (c *ProtocolLXD) GetImageSecret(fingerprint string, secret string) (*api.Image, string, error) {
	image := api.Image{}
	etag, err := c.queryStruct(http.MethodGet, imagePath(fingerprint, secret, ""), nil, "", &image)
	if err != nil {
		return nil, "", err
	}

	return &image, etag, nil
}

// imagePath is the API path of an image (under /1.0), with an optional sub-path and secret.
func imagePath(fingerprint string, secret string, sub string) string {
	p := "/images/" + url.PathEscape(fingerprint) + sub
	if secret != "" {
		p += "?secret=" + url.QueryEscape(secret)
	}

	return p
}

// UpdateImage replaces the writable fields of an image.
func (c *ProtocolLXD) UpdateImage(fingerprint string, image api.ImagePut, etag string) error {
	_, _, err := c.query(http.MethodPut, imagePath(fingerprint, "", ""), image, etag)
	return err
}

// DeleteImage deletes an image.
func (c *ProtocolLXD) DeleteImage(fingerprint string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodDelete, imagePath(fingerprint, "", ""), nil, "")
	return op, err
}

// CreateImageSecret asks for a one-time secret that lets an untrusted caller read and download a private image; the
// secret is in the metadata of the returned operation.
func (c *ProtocolLXD) CreateImageSecret(fingerprint string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, imagePath(fingerprint, "", "/secret"), nil, "")
	return op, err
}

// CreateImage adds an image. With args, the image files are uploaded (a raw body for a unified image, multipart
// for a split one) and image gives the properties, public flag and profiles; without, image is sent as JSON and its
// Source says where the server gets the image from.
func (c *ProtocolLXD) CreateImage(image api.ImagesPost, args *ImageCreateArgs) (Operation, error) {
	if args == nil {
		op, _, err := c.queryOperation(http.MethodPost, "/images", image, "")
		return op, err
	}

	if args.MetaFile == nil {
		return nil, errors.New("image upload without a metadata file")
	}

	req, err := c.imageUploadRequest(image, args)
	if err != nil {
		return nil, err
	}

	resp, _, err := c.doParse(req)
	if err != nil {
		return nil, err
	}

	if resp.Type != api.AsyncResponse {
		return nil, fmt.Errorf("expected an async response to the image upload, got %q", resp.Type)
	}

	var op api.Operation
	err = resp.MetadataAsStruct(&op)
	if err != nil {
		return nil, fmt.Errorf("decode operation: %w", err)
	}

	return c.newOperation(op), nil
}

// imageUploadRequest builds the POST /1.0/images of an upload. A split upload is streamed through a pipe by a
// goroutine; the pipe is closed with the request body, so the goroutine ends even when the server answers early.
func (c *ProtocolLXD) imageUploadRequest(image api.ImagesPost, args *ImageCreateArgs) (*http.Request, error) {
	total := readerSize(args.MetaFile)
	if args.RootfsFile != nil {
		rootfsSize := readerSize(args.RootfsFile)
		if total < 0 || rootfsSize < 0 {
			total = -1
		} else {
			total += rootfsSize
		}
	}

	counter := &progressCounter{handler: args.ProgressHandler, total: max(total, 0)}
	var body io.ReadCloser
	var contentType string
	if args.RootfsFile == nil {
		body = io.NopCloser(io.TeeReader(args.MetaFile, counter))
		contentType = "application/octet-stream"
	} else {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		rootfsPart := "rootfs"
		if args.Type == "virtual-machine" {
			rootfsPart = "rootfs.img"
		}

		go func() {
			err := writeUploadParts(mw, counter, []uploadPart{
				{name: "metadata", filename: args.MetaName, r: args.MetaFile},
				{name: rootfsPart, filename: args.RootfsName, r: args.RootfsFile},
			})
			_ = pw.CloseWithError(err)
		}()

		// The transport closes the body when it is done with the request, which ends the goroutine.
		body = pr
		contentType = mw.FormDataContentType()
	}

	req, err := http.NewRequest(http.MethodPost, c.url("/1.0/images"), body)
	if err != nil {
		_ = body.Close()
		return nil, err
	}

	if args.RootfsFile == nil && total >= 0 {
		req.ContentLength = total
	}

	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-LXD-filename", filepath.Base(args.MetaName))
	if image.Public {
		req.Header.Set("X-LXD-public", "true")
	}

	if len(image.Properties) > 0 {
		props := url.Values{}
		for k, v := range image.Properties {
			props.Set(k, v)
		}

		req.Header.Set("X-LXD-properties", props.Encode())
	}

	if len(image.Profiles) > 0 {
		req.Header.Set("X-LXD-profiles", url.Values{"profile": image.Profiles}.Encode())
	}

	if args.Secret != "" {
		req.Header.Set("X-LXD-secret", args.Secret)
	}

	if args.Fingerprint != "" {
		req.Header.Set("X-LXD-fingerprint", args.Fingerprint)
	}

	return req, nil
}

// uploadPart is one part of a split upload.
type uploadPart struct {
	name     string
	filename string
	r        io.Reader
}

// writeUploadParts writes the parts in order and closes the multipart writer.
func writeUploadParts(mw *multipart.Writer, counter *progressCounter, parts []uploadPart) error {
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data",
			map[string]string{"name": p.name, "filename": filepath.Base(p.filename)}))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}

		_, err = io.Copy(w, io.TeeReader(p.r, counter))
		if err != nil {
			return err
		}
	}

	return mw.Close()
}

// readerSize returns how many bytes are left to read from r when it can seek, -1 otherwise.
func readerSize(r io.Reader) int64 {
	s, ok := r.(io.Seeker)
	if !ok {
		return -1
	}

	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}

	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return -1
	}

	_, err = s.Seek(cur, io.SeekStart)
	if err != nil {
		return -1
	}

	return end - cur
}

// progressCounter counts the bytes written to it and reports them to a progress handler.
type progressCounter struct {
	handler func(done int64, total int64)
	total   int64
	done    int64
}

// Write counts p.
func (p *progressCounter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.handler != nil {
		p.handler(p.done, p.total)
	}

	return len(b), nil
}

// GetImageFile downloads an image's files (GET /1.0/images/<fp>/export) and checks their sha256 against fingerprint.
func (c *ProtocolLXD) GetImageFile(fingerprint string, req ImageFileRequest) (*ImageFileResponse, error) {
	return c.GetImageFileSecret(fingerprint, "", req)
}

// GetImageFileSecret is GetImageFile for an untrusted caller holding a one-time image secret (none when "").
func (c *ProtocolLXD) GetImageFileSecret(fingerprint string, secret string, req ImageFileRequest) (*ImageFileResponse, error) {
	if req.MetaFile == nil {
		return nil, errors.New("image download without a metadata file")
	}

	httpReq, err := http.NewRequest(http.MethodGet, c.url("/1.0"+imagePath(fingerprint, secret, "/export")), nil)
	if err != nil {
		return nil, err
	}

	resp, err := c.do(httpReq)
	if err != nil {
		return nil, err
	}

	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _, err = parseResponse(resp)
		if err == nil {
			err = fmt.Errorf("unexpected status %d for the image export", resp.StatusCode)
		}

		return nil, err
	}

	hash := sha256.New()
	counter := &progressCounter{handler: req.ProgressHandler, total: max(resp.ContentLength, 0)}
	var result *ImageFileResponse
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err == nil && mediaType == "multipart/form-data" {
		result, err = readSplitImage(resp.Body, params["boundary"], hash, counter, req)
	} else {
		result, err = readUnifiedImage(resp, hash, counter, req)
	}

	if err != nil {
		return nil, err
	}

	got := hex.EncodeToString(hash.Sum(nil))
	if fingerprint != "" && strings.HasPrefix(got, fingerprint) {
		return result, nil
	}

	// The fingerprint of an OCI image is derived from its layers: its files are checked against the hash the
	// server gives for them.
	want := resp.Header.Get(api.ImageExportHashHeader)
	if resp.Header.Get(api.ImageExportTypeHeader) == "oci" && want != "" {
		if got != want {
			return nil, fmt.Errorf("image content doesn't match: got %s, expected %s", got, want)
		}

		result.ContentHash = got
		return result, nil
	}

	return nil, fmt.Errorf("image fingerprint doesn't match: got %s, expected %s", got, fingerprint)
}

// ErrNoLayout is wrapped by the error of GetImageLayout when the server holds the image without its layers (an OCI
// image imported from its files, whose fingerprint is their hash, as any image's).
var ErrNoLayout = errors.New("the server has no layers of the image")

// GetImageLayout opens the OCI image layout of an OCI image (GET /1.0/images/<fp>/export?format=oci, the
// image_export_oci_layout extension): a tar stream the caller reads and checks (its blobs against their digests,
// the fingerprint against the layers), then closes. secret is a one-time image secret for an untrusted caller.
func (c *ProtocolLXD) GetImageLayout(fingerprint string, secret string) (io.ReadCloser, error) {
	path := imagePath(fingerprint, secret, "/export")
	sep := "?"
	if secret != "" {
		sep = "&"
	}

	rc, err := c.getRaw(path + sep + "format=oci")
	if api.StatusErrorCheck(err, http.StatusNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrNoLayout, err)
	}

	return rc, err
}

// readUnifiedImage copies a unified image to req.MetaFile; its name comes from Content-Disposition.
func readUnifiedImage(resp *http.Response, hash io.Writer, counter *progressCounter, req ImageFileRequest) (*ImageFileResponse, error) {
	name, err := dispositionFilename(resp.Header.Get("Content-Disposition"))
	if err != nil {
		return nil, err
	}

	n, err := io.Copy(io.MultiWriter(req.MetaFile, hash, counter), resp.Body)
	if err != nil {
		return nil, fmt.Errorf("download image: %w", err)
	}

	return &ImageFileResponse{Size: n, MetaSize: n, MetaName: name}, nil
}

// dispositionFilename returns the file name a Content-Disposition header gives, refusing names that are paths.
func dispositionFilename(header string) (string, error) {
	if header == "" {
		return "", errors.New("no Content-Disposition header in the image download")
	}

	_, params, err := mime.ParseMediaType(header)
	if err != nil {
		return "", fmt.Errorf("invalid Content-Disposition header %q: %w", header, err)
	}

	name := params["filename"]
	if name == "" {
		return "", errors.New("no filename in Content-Disposition header")
	}

	if !validFileName(name) {
		return "", fmt.Errorf("invalid file name %q in Content-Disposition header", name)
	}

	return name, nil
}

// validFileName reports whether name is a plain file name, usable in the current directory.
func validFileName(name string) bool {
	return name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// readSplitImage copies the two parts of a split image, metadata then rootfs, to req.MetaFile and req.RootfsFile.
func readSplitImage(body io.Reader, boundary string, hash io.Writer, counter *progressCounter, req ImageFileRequest) (*ImageFileResponse, error) {
	if boundary == "" {
		return nil, errors.New("multipart image download without a boundary")
	}

	if req.RootfsFile == nil {
		return nil, errors.New("split image download without a rootfs file")
	}

	mr := multipart.NewReader(body, boundary)
	result := &ImageFileResponse{}
	targets := []struct {
		names []string
		w     io.Writer
		size  *int64
		name  *string
	}{
		{[]string{"metadata"}, req.MetaFile, &result.MetaSize, &result.MetaName},
		{[]string{"rootfs", "rootfs.img"}, req.RootfsFile, &result.RootfsSize, &result.RootfsName},
	}

	for i, t := range targets {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("read part %d of the image download: %w", i+1, err)
		}

		name := part.FormName()
		if !containsString(t.names, name) {
			return nil, fmt.Errorf("invalid multipart image download: part %d is %q, want %q", i+1, name, t.names[0])
		}

		n, err := io.Copy(io.MultiWriter(t.w, hash, counter), part)
		if err != nil {
			return nil, fmt.Errorf("download image %s: %w", name, err)
		}

		*t.size = n
		*t.name = part.FileName()
		result.Size += n
	}

	_, err := mr.NextPart()
	if err == nil {
		return nil, errors.New("invalid multipart image download: more than two parts")
	}

	if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the end of the image download: %w", err)
	}

	return result, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}

	return false
}

// GetImageAliases returns the image aliases.
func (c *ProtocolLXD) GetImageAliases() ([]api.ImageAliasesEntry, error) {
	aliases := []api.ImageAliasesEntry{}
	_, err := c.queryStruct(http.MethodGet, "/images/aliases?recursion=1", nil, "", &aliases)
	if err != nil {
		return nil, err
	}

	return aliases, nil
}

// GetImageAliasNames returns the names of the image aliases.
func (c *ProtocolLXD) GetImageAliasNames() ([]string, error) {
	var urls []string
	_, err := c.queryStruct(http.MethodGet, "/images/aliases", nil, "", &urls)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(urls))
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		// Alias names may contain "/": take everything after the collection path, unescaped.
		rest, ok := strings.CutPrefix(parsed.EscapedPath(), "/1.0/images/aliases/")
		if !ok || rest == "" {
			return nil, fmt.Errorf("unexpected URL %q in response", u)
		}

		name, err := url.PathUnescape(rest)
		if err != nil {
			return nil, fmt.Errorf("invalid URL %q in response: %w", u, err)
		}

		names = append(names, name)
	}

	return names, nil
}

// aliasPath is the API path of an image alias (under /1.0).
func aliasPath(name string) string {
	return "/images/aliases/" + url.PathEscape(name)
}

// GetImageAlias returns an image alias and its ETag.
func (c *ProtocolLXD) GetImageAlias(name string) (*api.ImageAliasesEntry, string, error) {
	alias := api.ImageAliasesEntry{}
	etag, err := c.queryStruct(http.MethodGet, aliasPath(name), nil, "", &alias)
	if err != nil {
		return nil, "", err
	}

	return &alias, etag, nil
}

// GetImageAliasType returns an image alias whose target is of the given image type (any type when imageType is
// ""); an alias of another type is reported as not found.
func (c *ProtocolLXD) GetImageAliasType(imageType string, name string) (*api.ImageAliasesEntry, string, error) {
	alias, etag, err := c.GetImageAlias(name)
	if err != nil {
		return nil, "", err
	}

	if imageType != "" && alias.Type != imageType {
		return nil, "", api.StatusErrorf(http.StatusNotFound, "image alias not found")
	}

	return alias, etag, nil
}

// CreateImageAlias creates an image alias; the target may be a fingerprint prefix, which the server expands.
func (c *ProtocolLXD) CreateImageAlias(alias api.ImageAliasesPost) error {
	_, _, err := c.query(http.MethodPost, "/images/aliases", alias, "")
	return err
}

// UpdateImageAlias replaces the description and target of an image alias.
func (c *ProtocolLXD) UpdateImageAlias(name string, alias api.ImageAliasesEntryPut, etag string) error {
	_, _, err := c.query(http.MethodPut, aliasPath(name), alias, etag)
	return err
}

// RenameImageAlias renames an image alias.
func (c *ProtocolLXD) RenameImageAlias(name string, alias api.ImageAliasesEntryPost) error {
	_, _, err := c.query(http.MethodPost, aliasPath(name), alias, "")
	return err
}

// DeleteImageAlias deletes an image alias.
func (c *ProtocolLXD) DeleteImageAlias(name string) error {
	_, _, err := c.query(http.MethodDelete, aliasPath(name), nil, "")
	return err
}

// RefreshImage asks the server to refresh an image from the source alias it was pulled by. The operation's
// metadata says whether a new image replaced it ("refreshed").
func (c *ProtocolLXD) RefreshImage(fingerprint string) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, "/images/"+url.PathEscape(fingerprint)+"/refresh", nil, "")
	return op, err
}

// ExportImage asks the server to push an image to another server (push mode of an image copy).
func (c *ProtocolLXD) ExportImage(fingerprint string, req api.ImageExportPost) (Operation, error) {
	op, _, err := c.queryOperation(http.MethodPost, "/images/"+url.PathEscape(fingerprint)+"/export", req, "")
	return op, err
}
