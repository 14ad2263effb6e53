package rest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// imageEnv is the API over a real database and image store in a temporary directory (an apiEnv). Requests with
// the header "X-Test-Untrusted" come from an untrusted caller.
type imageEnv struct {
	handler http.Handler
	state   *state.State
	dir     string
}

func newImageEnv(t *testing.T) *imageEnv {
	t.Helper()
	e := newAPIEnv(t)
	return &imageEnv{handler: e.Handler, state: e.State, dir: e.Dir}
}

// req is one request to the API.
type req struct {
	method      string
	path        string
	contentType string
	body        []byte
	headers     map[string]string
}

// do serves a request and returns the recorder and the decoded envelope (zero for a body that is not one).
func (e *imageEnv) do(t *testing.T, rq req) (*httptest.ResponseRecorder, api.ResponseRaw) {
	t.Helper()
	r := httptest.NewRequest(rq.method, rq.path, bytes.NewReader(rq.body))
	if rq.contentType != "" {
		r.Header.Set("Content-Type", rq.contentType)
	}

	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}

	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, r)
	var env api.ResponseRaw
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	return rec, env
}

// expect serves a request and fails unless it answers code; an error answer must carry msg when msg is set.
func (e *imageEnv) expect(t *testing.T, rq req, code int, msg string) (*httptest.ResponseRecorder, api.ResponseRaw) {
	t.Helper()
	rec, env := e.do(t, rq)
	if rec.Code != code {
		t.Fatalf("%s %s: got HTTP %d (%s), want %d", rq.method, rq.path, rec.Code, strings.TrimSpace(rec.Body.String()), code)
	}

	if code >= 400 && (env.Type != api.ErrorResponse || env.Code != code) {
		t.Fatalf("%s %s: got envelope %+v, want an error envelope with code %d", rq.method, rq.path, env, code)
	}

	if msg != "" && env.Error != msg {
		t.Fatalf("%s %s: got error %q, want %q", rq.method, rq.path, env.Error, msg)
	}

	return rec, env
}

// wait waits for the operation of an async answer and returns it once done.
func (e *imageEnv) wait(t *testing.T, env api.ResponseRaw) api.Operation {
	t.Helper()
	if env.Type != api.AsyncResponse {
		t.Fatalf("got envelope %+v, want an async answer", env)
	}

	op, err := e.state.Ops.Get(strings.TrimPrefix(env.Operation, "/1.0/operations/"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = op.Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", env.Operation, err)
	}

	return op.Render()
}

// metadata decodes the metadata of a sync answer.
func metadata[T any](t *testing.T, env api.ResponseRaw) T {
	t.Helper()
	var out T
	data, err := json.Marshal(env.Metadata)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}

	if err != nil {
		t.Fatalf("decoding metadata %v: %v", env.Metadata, err)
	}

	return out
}

// tarOf builds a tarball of regular files (name to content) and directories (names ending in "/").
func tarOf(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, entry := range entries {
		hdr := &tar.Header{Name: entry[0], Mode: 0o644, Size: int64(len(entry[1])), Typeflag: tar.TypeReg,
			ModTime: time.Unix(1700000000, 0)}
		if strings.HasSuffix(entry[0], "/") {
			hdr.Mode, hdr.Size, hdr.Typeflag = 0o755, 0, tar.TypeDir
		}

		err := tw.WriteHeader(hdr)
		if err == nil && hdr.Typeflag == tar.TypeReg {
			_, err = tw.Write([]byte(entry[1]))
		}

		if err != nil {
			t.Fatal(err)
		}
	}

	err := tw.Close()
	if err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

// tinyMeta is the metadata part of a split image.
func tinyMeta(t *testing.T) []byte {
	return tarOf(t, [][2]string{{"metadata.yaml", "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: split\n"}})
}

// tinyRootfs is the rootfs part of a split image.
func tinyRootfs(t *testing.T) []byte {
	return tarOf(t, [][2]string{{"./", ""}, {"etc/", ""}, {"etc/hostname", "tiny\n"}})
}

// storeFiles lists what the image store holds, its .tmp directory included.
func (e *imageEnv) storeFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(e.dir, "images"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}

		if !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(e.dir, "images"), path)
			out = append(out, rel)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	slices.Sort(out)
	return out
}

// importImage uploads img and returns its fingerprint once stored.
func (e *imageEnv) importImage(t *testing.T, img []byte, headers map[string]string) string {
	t.Helper()
	_, env := e.expect(t, req{method: "POST", path: "/1.0/images", contentType: "application/octet-stream", body: img,
		headers: headers}, http.StatusAccepted, "")
	op := e.wait(t, env)
	if op.StatusCode != api.Success {
		t.Fatalf("import ended %s: %s", op.Status, op.Err)
	}

	fp, _ := op.Metadata["fingerprint"].(string)
	if fp != sha256Hex(img) {
		t.Fatalf("import reported fingerprint %q, want %s", fp, sha256Hex(img))
	}

	return fp
}

func TestImagesImportListGetEditDelete(t *testing.T) {
	e := newImageEnv(t)
	img := tinyImage(t)
	fp := e.importImage(t, img, map[string]string{"X-LXD-filename": "tiny.tar", "X-LXD-properties": "os=test&k=v"})

	_, env := e.expect(t, req{method: "GET", path: "/1.0/images"}, http.StatusOK, "")
	urls := metadata[[]string](t, env)
	if !slices.Equal(urls, []string{"/1.0/images/" + fp}) {
		t.Fatalf("got list %v, want the imported image", urls)
	}

	// Private images are hidden from untrusted callers, in lists and by name.
	_, env = e.expect(t, req{method: "GET", path: "/1.0/images?recursion=1", headers: map[string]string{"X-Test-Untrusted": "1"}},
		http.StatusOK, "")
	if list := metadata[[]api.Image](t, env); len(list) != 0 {
		t.Fatalf("untrusted list: got %d images, want none", len(list))
	}

	e.expect(t, req{method: "GET", path: "/1.0/images/" + fp, headers: map[string]string{"X-Test-Untrusted": "1"}},
		http.StatusNotFound, "image not found")

	rec, env := e.expect(t, req{method: "GET", path: "/1.0/images/" + fp[:10]}, http.StatusOK, "")
	got := metadata[api.Image](t, env)
	if got.Fingerprint != fp || got.Filename != "tiny.tar" || got.Properties["os"] != "test" || got.Properties["k"] != "v" ||
		got.Size != int64(len(img)) {
		t.Fatalf("got image %+v, want the upload's file name, properties and size", got)
	}

	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET sent no ETag")
	}

	// An edit made from another state is refused and changes nothing.
	e.expect(t, req{method: "PUT", path: "/1.0/images/" + fp, contentType: "application/json",
		body: []byte(`{"public": true, "properties": {"os": "stale"}}`), headers: map[string]string{"If-Match": `"0000"`}},
		http.StatusPreconditionFailed, "")
	e.expect(t, req{method: "PUT", path: "/1.0/images/" + fp, contentType: "application/json",
		body: []byte(`{"public": true, "properties": {"os": "edited"}}`), headers: map[string]string{"If-Match": etag}},
		http.StatusOK, "")
	e.expect(t, req{method: "PATCH", path: "/1.0/images/" + fp, contentType: "application/json",
		body: []byte(`{"properties": {"extra": "1"}}`)}, http.StatusOK, "")

	_, env = e.expect(t, req{method: "GET", path: "/1.0/images/" + fp, headers: map[string]string{"X-Test-Untrusted": "1"}},
		http.StatusOK, "")
	got = metadata[api.Image](t, env)
	if !got.Public || got.Properties["os"] != "edited" || got.Properties["extra"] != "1" || got.Properties["k"] != "" {
		t.Fatalf("got image %+v after PUT and PATCH, want public with os=edited and extra=1", got)
	}

	rec, _ = e.expect(t, req{method: "GET", path: "/1.0/images/" + fp + "/export"}, http.StatusOK, "")
	if !bytes.Equal(rec.Body.Bytes(), img) || rec.Header().Get("Content-Disposition") != "inline;filename="+fp+".tar" {
		t.Fatalf("export: got %d bytes with Content-Disposition %q, want the image as %s.tar", rec.Body.Len(),
			rec.Header().Get("Content-Disposition"), fp)
	}

	_, env = e.expect(t, req{method: "DELETE", path: "/1.0/images/" + fp}, http.StatusAccepted, "")
	op := e.wait(t, env)
	if op.StatusCode != api.Success {
		t.Fatalf("delete ended %s: %s", op.Status, op.Err)
	}

	e.expect(t, req{method: "GET", path: "/1.0/images/" + fp}, http.StatusNotFound, "image not found")
	if files := e.storeFiles(t); len(files) != 0 {
		t.Fatalf("got store files %v after the delete, want none", files)
	}
}

func TestImagesSplitImport(t *testing.T) {
	e := newImageEnv(t)
	meta := tinyMeta(t)
	rootfs := tinyRootfs(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		name string
		data []byte
	}{{"metadata", meta}, {"rootfs", rootfs}} {
		w, err := mw.CreateFormFile(part.name, part.name+".tar")
		if err != nil {
			t.Fatal(err)
		}

		_, _ = w.Write(part.data)
	}

	_ = mw.Close()
	_, env := e.expect(t, req{method: "POST", path: "/1.0/images", contentType: mw.FormDataContentType(), body: body.Bytes()},
		http.StatusAccepted, "")
	op := e.wait(t, env)
	fp := sha256Hex(append(append([]byte{}, meta...), rootfs...))
	if op.StatusCode != api.Success || op.Metadata["fingerprint"] != fp {
		t.Fatalf("split import ended %s (%s) with metadata %v, want fingerprint %s", op.Status, op.Err, op.Metadata, fp)
	}

	rec, _ := e.expect(t, req{method: "GET", path: "/1.0/images/" + fp + "/export"}, http.StatusOK, "")
	_, params, _ := strings.Cut(rec.Header().Get("Content-Type"), "boundary=")
	mr := multipart.NewReader(rec.Body, params)
	for _, want := range []struct {
		name string
		data []byte
	}{{"metadata", meta}, {"rootfs", rootfs}} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("export: part %s: %v", want.name, err)
		}

		data, _ := io.ReadAll(part)
		if part.FormName() != want.name || !bytes.Equal(data, want.data) {
			t.Fatalf("export: got part %q of %d bytes, want %q of %d", part.FormName(), len(data), want.name, len(want.data))
		}
	}
}

func TestImageAliases(t *testing.T) {
	e := newImageEnv(t)
	fp := e.importImage(t, tinyImage(t), nil)

	e.expect(t, req{method: "POST", path: "/1.0/images/aliases", contentType: "application/json",
		body: []byte(`{"name": "tiny", "target": "` + fp[:8] + `"}`)}, http.StatusCreated, "")
	e.expect(t, req{method: "POST", path: "/1.0/images/aliases", contentType: "application/json",
		body: []byte(`{"name": "tiny", "target": "` + fp + `"}`)}, http.StatusConflict, `alias "tiny" already exists`)

	rec, env := e.expect(t, req{method: "GET", path: "/1.0/images/aliases/tiny"}, http.StatusOK, "")
	alias := metadata[api.ImageAliasesEntry](t, env)
	if alias.Target != fp {
		t.Fatalf("got alias %+v, want target %s", alias, fp)
	}

	// The alias of a private image is hidden from untrusted callers.
	e.expect(t, req{method: "GET", path: "/1.0/images/aliases/tiny", headers: map[string]string{"X-Test-Untrusted": "1"}},
		http.StatusNotFound, "image alias not found")

	e.expect(t, req{method: "PATCH", path: "/1.0/images/aliases/tiny", contentType: "application/json",
		body: []byte(`{"description": "stale"}`), headers: map[string]string{"If-Match": `"0000"`}}, http.StatusPreconditionFailed, "")
	e.expect(t, req{method: "PATCH", path: "/1.0/images/aliases/tiny", contentType: "application/json",
		body: []byte(`{"description": "small"}`), headers: map[string]string{"If-Match": rec.Header().Get("ETag")}}, http.StatusOK, "")

	rec, _ = e.expect(t, req{method: "POST", path: "/1.0/images/aliases/tiny", contentType: "application/json",
		body: []byte(`{"name": "dist/tiny"}`)}, http.StatusCreated, "")
	if rec.Header().Get("Location") != "/1.0/images/aliases/dist%2Ftiny" {
		t.Fatalf("rename: got Location %q", rec.Header().Get("Location"))
	}

	e.expect(t, req{method: "GET", path: "/1.0/images/aliases/tiny"}, http.StatusNotFound, "image alias not found")
	_, env = e.expect(t, req{method: "GET", path: "/1.0/images/aliases?recursion=1"}, http.StatusOK, "")
	list := metadata[[]api.ImageAliasesEntry](t, env)
	if len(list) != 1 || list[0].Name != "dist/tiny" || list[0].Description != "small" || list[0].Target != fp {
		t.Fatalf("got aliases %+v, want dist/tiny described as small", list)
	}

	e.expect(t, req{method: "DELETE", path: "/1.0/images/aliases/dist/tiny"}, http.StatusOK, "")
	_, env = e.expect(t, req{method: "GET", path: "/1.0/images/aliases"}, http.StatusOK, "")
	if urls := metadata[[]string](t, env); len(urls) != 0 {
		t.Fatalf("got aliases %v after the delete, want none", urls)
	}
}

// Bad input answers 4xx with the message clients see, and leaves nothing stored.
func TestImagesBadInputStoresNothing(t *testing.T) {
	e := newImageEnv(t)
	fp := e.importImage(t, tinyImage(t), nil)
	before := e.storeFiles(t)

	tests := []struct {
		name string
		req  req
		code int
		msg  string
	}{
		{"not an image", req{method: "POST", path: "/1.0/images", contentType: "application/octet-stream",
			body: []byte("not a tarball at all")}, http.StatusBadRequest, ""},
		{"bad public header", req{method: "POST", path: "/1.0/images", contentType: "application/octet-stream",
			body: tinyImage(t), headers: map[string]string{"X-LXD-public": "maybe"}}, http.StatusBadRequest,
			`invalid X-LXD-public header "maybe"`},
		{"wrong fingerprint", req{method: "POST", path: "/1.0/images", contentType: "application/octet-stream",
			body: tinyImage(t), headers: map[string]string{"X-LXD-fingerprint": strings.Repeat("0", 64)}}, http.StatusBadRequest, ""},
		{"untrusted upload", req{method: "POST", path: "/1.0/images", contentType: "application/octet-stream",
			body: tinyImage(t), headers: map[string]string{"X-Test-Untrusted": "1"}}, http.StatusForbidden, "not authorized"},
		{"no source", req{method: "POST", path: "/1.0/images", contentType: "application/json", body: []byte(`{}`)},
			http.StatusBadRequest, "no image source given and no image uploaded"},
		{"unknown source type", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"source": {"type": "oci"}}`)}, http.StatusBadRequest, `image source type "oci" is not supported by this server`},
		{"bad URL", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"source": {"type": "url", "url": "ftp://example.com/x"}}`)}, http.StatusBadRequest,
			`unsupported URL scheme "ftp" (only http and https)`},
		{"bad pull server", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"source": {"type": "image", "server": "nowhere", "alias": "x"}}`)}, http.StatusBadRequest,
			`invalid image server "nowhere"`},
		{"push mode pull", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"source": {"type": "image", "mode": "relay", "server": "https://example.com", "alias": "x"}}`)},
			http.StatusBadRequest, `image copy mode "relay" is not supported by this server (use pull)`},
		{"bad alias in request", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"aliases": [{"name": "a b"}], "source": {"type": "url", "url": "https://example.com/x"}}`)},
			http.StatusBadRequest, `invalid character ' ' in alias name "a b"`},
		{"unknown profile", req{method: "PUT", path: "/1.0/images/" + fp, contentType: "application/json",
			body: []byte(`{"profiles": ["other"]}`)}, http.StatusBadRequest, `profile "other" not found`},
		{"bad JSON", req{method: "PUT", path: "/1.0/images/" + fp, contentType: "application/json",
			body: []byte(`{"public": "yes"}`)}, http.StatusBadRequest, ""},
		{"missing image", req{method: "DELETE", path: "/1.0/images/" + strings.Repeat("f", 64)}, http.StatusNotFound,
			"image not found"},
		{"alias without target", req{method: "POST", path: "/1.0/images/aliases", contentType: "application/json",
			body: []byte(`{"name": "x"}`)}, http.StatusBadRequest, "alias target must not be empty"},
		{"alias of a missing image", req{method: "POST", path: "/1.0/images/aliases", contentType: "application/json",
			body: []byte(`{"name": "x", "target": "ffff"}`)}, http.StatusNotFound, `image "ffff" not found`},
		{"bad alias name", req{method: "POST", path: "/1.0/images/aliases", contentType: "application/json",
			body: []byte(`{"name": "a:b", "target": "` + fp + `"}`)}, http.StatusBadRequest, `invalid character ':' in alias name "a:b"`},
		{"refresh of a local image", req{method: "POST", path: "/1.0/images/" + fp + "/refresh"}, http.StatusBadRequest,
			"image " + fp[:12] + " was not pulled by an alias from another server: nothing to refresh"},
		{"publish with a bad compression", req{method: "POST", path: "/1.0/images", contentType: "application/json",
			body: []byte(`{"compression_algorithm": "rar", "source": {"type": "instance", "name": "c1"}}`)},
			http.StatusBadRequest, `unsupported compression algorithm "rar"`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.expect(t, tt.req, tt.code, tt.msg)
			if files := e.storeFiles(t); !slices.Equal(files, before) {
				t.Fatalf("got store files %v, want %v", files, before)
			}

			_, env := e.expect(t, req{method: "GET", path: "/1.0/images"}, http.StatusOK, "")
			if urls := metadata[[]string](t, env); !slices.Equal(urls, []string{"/1.0/images/" + fp}) {
				t.Fatalf("got images %v, want only %s", urls, fp)
			}

			_, env = e.expect(t, req{method: "GET", path: "/1.0/images/aliases"}, http.StatusOK, "")
			if urls := metadata[[]string](t, env); len(urls) != 0 {
				t.Fatalf("got aliases %v, want none", urls)
			}
		})
	}
}

// The simplestreams tree lists public images only, and serves their files by the names it lists.
func TestSimplestreamsServesPublicImages(t *testing.T) {
	e := newImageEnv(t)
	img := tinyImage(t)
	fp := e.importImage(t, img, nil)
	e.expect(t, req{method: "GET", path: "/images/" + fp + "/" + fp + ".tar"}, http.StatusNotFound, "not found")

	e.expect(t, req{method: "PATCH", path: "/1.0/images/" + fp, contentType: "application/json", body: []byte(`{"public": true}`)},
		http.StatusOK, "")
	rec, _ := e.do(t, req{method: "GET", path: "/streams/v1/images.json"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), fp) {
		t.Fatalf("images.json: got HTTP %d without the public image: %s", rec.Code, rec.Body.String())
	}

	rec, _ = e.expect(t, req{method: "GET", path: "/images/" + fp + "/" + fp + ".tar"}, http.StatusOK, "")
	if !bytes.Equal(rec.Body.Bytes(), img) {
		t.Fatalf("got %d bytes, want the image", rec.Body.Len())
	}

	e.expect(t, req{method: "GET", path: "/images/" + fp + "/other.tar"}, http.StatusNotFound, "not found")
}
