package client

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testImage is an image of imageServer with its files: unified, or meta and rootfs.
type testImage struct {
	api.Image
	unified []byte
	meta    []byte
	rootfs  []byte
}

// uploadRecord is what imageServer saw of one POST /1.0/images.
type uploadRecord struct {
	header        http.Header
	contentLength int64
	body          []byte
	partNames     []string
	partFiles     []string
	partData      [][]byte
	json          map[string]any
}

// imageServer is a small server of the image endpoints speaking the LXD envelope, with operations that finish over
// the events websocket. Export behaviour can be broken on purpose through exportMode.
type imageServer struct {
	t *testing.T

	mu         sync.Mutex
	images     map[string]*testImage
	aliases    map[string]api.ImageAliasesEntry
	ops        map[string]*api.Operation
	finals     map[string]api.Operation
	conns      []*websocket.Conn
	requests   []string
	uploads    []uploadRecord
	lastBody   map[string]any
	ifMatch    string
	exportMode string
	rejectAt   int
}

func (s *imageServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func reply(w http.ResponseWriter, code int, md any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md})
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg})
}

// startOp registers a running operation that ends with final once the client has read it once (so the end reaches
// the client through the events websocket) and answers 202.
func (s *imageServer) startOp(w http.ResponseWriter, desc string, md map[string]any, final api.Operation) {
	id := fmt.Sprintf("op-%d", len(s.ops))
	now := time.Now()
	op := &api.Operation{ID: id, Class: "task", Description: desc, Status: "Running", StatusCode: api.Running,
		CreatedAt: now, UpdatedAt: now, Metadata: md}
	s.ops[id] = op
	final.ID, final.Class, final.Description = id, op.Class, desc
	final.CreatedAt, final.UpdatedAt = now, now.Add(time.Millisecond)
	s.finals[id] = final
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/1.0/operations/"+id)
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
		"operation": "/1.0/operations/" + id, "metadata": op})
}

// finish sends the final state of an operation as an event, right after the answer in progress, which it flushes
// first: the client connected its events websocket before reading the operation, so the event reaches it whether it
// reads the answer or the event first. The caller holds s.mu.
func (s *imageServer) finish(w http.ResponseWriter, id string) {
	f, ok := w.(http.Flusher)
	if ok {
		f.Flush()
	}

	final, ok := s.finals[id]
	if !ok {
		return
	}

	delete(s.finals, id)
	*s.ops[id] = final
	ev := api.Event{Type: api.EventTypeOperation, Timestamp: time.Now(), Location: "none"}
	ev.Metadata, _ = json.Marshal(final)
	for _, c := range s.conns {
		_ = c.WriteJSON(ev)
	}
}

func (s *imageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if p == "/1.0/events" {
		// As the daemon does, the listener is registered before the client sees the upgrade answer: a request
		// the client sends once connected waits for s.mu, so an event it causes reaches this connection.
		s.mu.Lock()
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			s.conns = append(s.conns, conn)
		}

		s.mu.Unlock()
		if err != nil {
			return
		}
		go func() {
			for {
				_, _, err := conn.ReadMessage()
				if err != nil {
					return
				}
			}
		}()

		return
	}

	if p == "/1.0/images" && r.Method == http.MethodPost {
		s.upload(w, r)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.ifMatch = r.Header.Get("If-Match")
	body, _ := io.ReadAll(r.Body)
	s.lastBody = nil
	_ = json.Unmarshal(body, &s.lastBody)

	switch {
	case p == "/1.0":
		reply(w, 200, map[string]any{"auth": "trusted", "api_version": "1.0", "api_extensions": []string{"api_filtering"}})
	case p == "/1.0/images" && r.Method == http.MethodGet:
		if r.URL.Query().Get("filter") == "bad" {
			fail(w, 400, "invalid filter")
			return
		}

		if r.URL.Query().Get("recursion") == "1" {
			list := []api.Image{}
			for _, img := range s.images {
				list = append(list, img.Image)
			}

			reply(w, 200, list)
			return
		}

		urls := []string{}
		for fp := range s.images {
			urls = append(urls, "/1.0/images/"+fp)
		}

		reply(w, 200, urls)
	case strings.HasPrefix(p, "/1.0/operations/"):
		id := strings.TrimPrefix(p, "/1.0/operations/")
		op, ok := s.ops[id]
		if !ok {
			fail(w, 404, "Operation not found")
			return
		}

		reply(w, 200, op)
		s.finish(w, id)
	case p == "/1.0/images/aliases" && r.Method == http.MethodPost:
		s.aliasCreate(w)
	case p == "/1.0/images/aliases":
		if r.URL.Query().Get("recursion") == "1" {
			list := []api.ImageAliasesEntry{}
			for _, a := range s.aliases {
				list = append(list, a)
			}

			reply(w, 200, list)
			return
		}

		urls := []string{}
		for name := range s.aliases {
			urls = append(urls, "/1.0/images/aliases/"+url.PathEscape(name))
		}

		reply(w, 200, urls)
	case strings.HasPrefix(p, "/1.0/images/aliases/"):
		name, err := url.PathUnescape(strings.TrimPrefix(p, "/1.0/images/aliases/"))
		if err != nil {
			fail(w, 400, "bad name")
			return
		}

		s.alias(w, r, name)
	case strings.HasPrefix(p, "/1.0/images/"):
		s.image(w, r, strings.TrimPrefix(p, "/1.0/images/"))
	default:
		fail(w, 404, "not found")
	}
}

// find expands a fingerprint prefix.
func (s *imageServer) find(prefix string) *testImage {
	var found *testImage
	for fp, img := range s.images {
		if strings.HasPrefix(fp, prefix) {
			if found != nil {
				return nil
			}

			found = img
		}
	}

	return found
}

func (s *imageServer) image(w http.ResponseWriter, r *http.Request, rest string) {
	fp, sub, _ := strings.Cut(rest, "/")
	img := s.find(fp)
	if img == nil {
		fail(w, 404, "Image not found")
		return
	}

	switch {
	case sub == "export":
		s.export(w, img)
	case sub == "secret" && r.Method == http.MethodPost:
		s.startOp(w, "Image download token", map[string]any{"secret": "s3cret"},
			api.Operation{Status: "Cancelled", StatusCode: api.Cancelled})
	case r.Method == http.MethodGet:
		w.Header().Set("ETag", `"etag-`+img.Fingerprint[:4]+`"`)
		reply(w, 200, img.Image)
	case r.Method == http.MethodPut:
		reply(w, 200, map[string]any{})
	case r.Method == http.MethodDelete:
		final := api.Operation{Status: "Success", StatusCode: api.Success}
		if img.Fingerprint == brokenFP {
			final = api.Operation{Status: "Failure", StatusCode: api.Failure, Err: "image is in use"}
		}

		s.startOp(w, "Deleting image", nil, final)
	default:
		fail(w, 405, "method not allowed")
	}
}

func (s *imageServer) export(w http.ResponseWriter, img *testImage) {
	if img.unified != nil {
		data := img.unified
		switch s.exportMode {
		case "no-disposition":
		case "no-filename":
			w.Header().Set("Content-Disposition", "inline")
		case "path-filename":
			w.Header().Set("Content-Disposition", `inline;filename="../../etc/passwd"`)
		case "corrupt":
			data = append([]byte{'x'}, data[1:]...)
			w.Header().Set("Content-Disposition", "inline;filename="+img.Fingerprint+".tar.gz")
		default:
			w.Header().Set("Content-Disposition", "inline;filename="+img.Fingerprint+".tar.gz")
		}

		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = w.Write(data)
		return
	}

	type part struct {
		name, file string
		data       []byte
	}

	parts := []part{
		{"metadata", "meta-" + img.Fingerprint + ".tar.xz", img.meta},
		{"rootfs", img.Fingerprint + ".tar.xz", img.rootfs},
	}

	switch s.exportMode {
	case "reversed":
		parts[0], parts[1] = parts[1], parts[0]
	case "extra":
		parts = append(parts, part{"extra", "x", []byte("x")})
	case "vm":
		parts[1].name = "rootfs.img"
	}

	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", mw.FormDataContentType())
	for _, p := range parts {
		pw, _ := mw.CreateFormFile(p.name, p.file)
		_, _ = pw.Write(p.data)
	}

	_ = mw.Close()
}

func (s *imageServer) alias(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := s.aliases[name]
	if !ok {
		fail(w, 404, "Image alias not found")
		return
	}

	switch r.Method {
	case http.MethodGet:
		w.Header().Set("ETag", `"alias-etag"`)
		reply(w, 200, a)
	case http.MethodPut:
		a.Description, _ = s.lastBody["description"].(string)
		a.Target, _ = s.lastBody["target"].(string)
		s.aliases[name] = a
		reply(w, 200, map[string]any{})
	case http.MethodPost:
		newName, _ := s.lastBody["name"].(string)
		delete(s.aliases, name)
		a.Name = newName
		s.aliases[newName] = a
		w.Header().Set("Location", "/1.0/images/aliases/"+url.PathEscape(newName))
		reply(w, 201, nil)
	case http.MethodDelete:
		delete(s.aliases, name)
		reply(w, 200, map[string]any{})
	}
}

func (s *imageServer) aliasCreate(w http.ResponseWriter) {
	name, _ := s.lastBody["name"].(string)
	target, _ := s.lastBody["target"].(string)
	img := s.find(target)
	if img == nil {
		fail(w, 404, "Image not found")
		return
	}

	_, exists := s.aliases[name]
	if exists {
		fail(w, 409, "Alias already exists")
		return
	}

	desc, _ := s.lastBody["description"].(string)
	s.aliases[name] = api.ImageAliasesEntry{Name: name, Type: img.Type,
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Description: desc, Target: img.Fingerprint}}
	w.Header().Set("Location", "/1.0/images/aliases/"+url.PathEscape(name))
	reply(w, 201, nil)
}

// upload receives an image the way the daemon does: a raw body, multipart parts or JSON. With rejectAt set it
// answers 400 after reading that many bytes, as a daemon refusing an invalid upload early.
func (s *imageServer) upload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rejectAt := s.rejectAt
	s.mu.Unlock()
	if rejectAt > 0 {
		_, _ = io.CopyN(io.Discard, r.Body, int64(rejectAt))
		fail(w, 400, "invalid image: not a tarball")
		return
	}

	rec := uploadRecord{header: r.Header.Clone(), contentLength: r.ContentLength}
	hash := sha256.New()
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			fail(w, 400, err.Error())
			return
		}

		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}

			if err != nil {
				fail(w, 400, err.Error())
				return
			}

			data, _ := io.ReadAll(part)
			hash.Write(data)
			rec.partNames = append(rec.partNames, part.FormName())
			rec.partFiles = append(rec.partFiles, part.FileName())
			rec.partData = append(rec.partData, data)
		}
	case "application/json":
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &rec.json)
	default:
		rec.body, _ = io.ReadAll(r.Body)
		hash.Write(rec.body)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.uploads = append(s.uploads, rec)
	fp := hex.EncodeToString(hash.Sum(nil))
	final := api.Operation{Status: "Success", StatusCode: api.Success,
		Metadata: map[string]any{"fingerprint": fp, "size": "1036932"}}
	if s.images[fp] != nil {
		final = api.Operation{Status: "Failure", StatusCode: api.Failure, Err: "Image with same fingerprint already exists"}
	}

	s.startOp(w, "Downloading image", nil, final)
}

// brokenFP is the fingerprint of an image whose deletion fails.
const brokenFP = "bbbb000000000000000000000000000000000000000000000000000000000000"

func sha(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}

	return hex.EncodeToString(h.Sum(nil))
}

// newImageTestServer starts an imageServer with a unified image, a split image and an image that cannot be deleted.
func newImageTestServer(t *testing.T) (*imageServer, InstanceServer) {
	t.Helper()
	unified := []byte("unified image tarball")
	meta, rootfs := []byte("metadata tarball"), []byte("rootfs tarball, a bit longer")
	s := &imageServer{t: t, images: map[string]*testImage{}, aliases: map[string]api.ImageAliasesEntry{},
		ops: map[string]*api.Operation{}, finals: map[string]api.Operation{}}
	add := func(img *testImage, fp string, typ string) {
		img.Fingerprint, img.Type, img.Architecture = fp, typ, "x86_64"
		img.Properties = map[string]string{"os": "busybox"}
		s.images[fp] = img
	}

	add(&testImage{unified: unified}, sha(unified), "container")
	add(&testImage{meta: meta, rootfs: rootfs}, sha(meta, rootfs), "container")
	add(&testImage{unified: []byte("x")}, brokenFP, "virtual-machine")
	s.aliases["ubuntu/22.04"] = api.ImageAliasesEntry{Name: "ubuntu/22.04", Type: "container",
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: sha(unified)}}

	certPEM, keyPEM, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(s)
	ts.TLS = tlsutil.ServerConfig(&tlsutil.CertInfo{KeyPair: pair, PEM: certPEM})
	ts.StartTLS()
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}

		s.mu.Unlock()
		ts.Close()
	})

	c, err := ConnectLXD(ts.URL, &ConnectionArgs{TLSServerCert: string(certPEM)})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(c.Disconnect)
	return s, c
}
