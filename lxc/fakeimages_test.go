package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeImage is an image of fakeImageServer with its files: unified, or meta and rootfs.
type fakeImage struct {
	api.Image
	unified []byte
	meta    []byte
	rootfs  []byte
}

// fakeUpload is what fakeImageServer saw of one upload.
type fakeUpload struct {
	header    http.Header
	partNames []string
	partFiles []string
}

// fakeImageServer serves the image endpoints on a unix socket, as the local daemon, with operations that end over
// the events websocket. It starts with the images of testdata/images.json.
type fakeImageServer struct {
	mu       sync.Mutex
	images   []*fakeImage
	ops      map[string]*api.Operation
	finals   map[string]api.Operation
	conns    []*websocket.Conn
	requests []string
	bodies   []string
	uploads  []fakeUpload
	ifMatch  []string
	badFilt  bool
}

// newFakeImageServer starts the server and returns it with a configuration directory whose local remote is it.
func newFakeImageServer(t *testing.T) (*fakeImageServer, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "images.json"))
	if err != nil {
		t.Fatal(err)
	}

	var list []api.Image
	err = json.Unmarshal(raw, &list)
	if err != nil {
		t.Fatal(err)
	}

	s := &fakeImageServer{ops: map[string]*api.Operation{}, finals: map[string]api.Operation{}}
	for _, img := range list {
		s.images = append(s.images, &fakeImage{Image: img})
	}

	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}

		s.mu.Unlock()
		_ = srv.Close()
	})

	conf := filepath.Join(dir, "conf")
	err = os.MkdirAll(conf, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	yml := fmt.Sprintf("default-remote: local\nremotes:\n  local:\n    addr: unix://%s\n    public: false\n", sock)
	err = os.WriteFile(filepath.Join(conf, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	return s, conf
}

// log returns the "METHOD uri" lines received, without the GET /1.0 of each connection.
func (s *fakeImageServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if r != "GET /1.0" {
			out = append(out, r)
		}
	}

	return out
}

// resetLog forgets the requests received so far.
func (s *fakeImageServer) resetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.bodies, s.ifMatch, s.uploads = nil, nil, nil, nil
}

func fakeReply(w http.ResponseWriter, code int, md any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md})
}

func fakeFail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error_code": code, "error": msg})
}

// aliases lists the aliases in the order of the images and of their aliases, as the golden files were made.
func (s *fakeImageServer) aliases() []api.ImageAliasesEntry {
	list := []api.ImageAliasesEntry{}
	for _, img := range s.images {
		for _, a := range img.Aliases {
			list = append(list, api.ImageAliasesEntry{Name: a.Name, Type: img.Type,
				ImageAliasesEntryPut: api.ImageAliasesEntryPut{Description: a.Description, Target: img.Fingerprint}})
		}
	}

	return list
}

func (s *fakeImageServer) find(prefix string) *fakeImage {
	var found *fakeImage
	for _, img := range s.images {
		if strings.HasPrefix(img.Fingerprint, prefix) {
			if found != nil {
				return nil
			}

			found = img
		}
	}

	return found
}

// startOp answers 202 with a running operation that ends with final after the client has read it once.
func (s *fakeImageServer) startOp(w http.ResponseWriter, desc string, final api.Operation) {
	id := fmt.Sprintf("op-%d", len(s.ops))
	now := time.Now()
	op := &api.Operation{ID: id, Class: "task", Description: desc, Status: "Running", StatusCode: api.Running,
		CreatedAt: now, UpdatedAt: now}
	s.ops[id] = op
	final.ID, final.Class, final.Description, final.CreatedAt, final.UpdatedAt = id, "task", desc, now, now
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
func (s *fakeImageServer) finish(w http.ResponseWriter, id string) {
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

func (s *fakeImageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

	var body []byte
	var upload *fakeUpload
	var hash string
	if p == "/1.0/images" && r.Method == http.MethodPost {
		upload, body, hash = receiveUpload(r)
	} else {
		body, _ = io.ReadAll(r.Body)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.bodies = append(s.bodies, strings.TrimSpace(string(body)))
	s.ifMatch = append(s.ifMatch, r.Header.Get("If-Match"))
	switch {
	case p == "/1.0":
		fakeReply(w, 200, map[string]any{"auth": "trusted", "api_version": "1.0", "api_extensions": []string{"api_filtering"}})
	case p == "/1.0/images" && r.Method == http.MethodPost:
		s.imagesPost(w, upload, body, hash)
	case p == "/1.0/images":
		if s.badFilt && r.URL.Query().Get("filter") != "" {
			fakeFail(w, 400, "invalid filter")
			return
		}

		list := []api.Image{}
		for _, img := range s.images {
			list = append(list, img.Image)
		}

		fakeReply(w, 200, list)
	case strings.HasPrefix(p, "/1.0/operations/"):
		id := strings.TrimPrefix(p, "/1.0/operations/")
		op, ok := s.ops[id]
		if !ok {
			fakeFail(w, 404, "Operation not found")
			return
		}

		fakeReply(w, 200, op)
		s.finish(w, id)
	case p == "/1.0/images/aliases" && r.Method == http.MethodPost:
		s.aliasCreate(w, body)
	case p == "/1.0/images/aliases":
		fakeReply(w, 200, s.aliases())
	case strings.HasPrefix(p, "/1.0/images/aliases/"):
		name, _ := url.PathUnescape(strings.TrimPrefix(p, "/1.0/images/aliases/"))
		s.alias(w, r, name, body)
	case strings.HasPrefix(p, "/1.0/images/"):
		s.image(w, r, strings.TrimPrefix(p, "/1.0/images/"))
	default:
		fakeFail(w, 404, "not found")
	}
}

// receiveUpload reads an upload: the raw body of a unified image or the parts of a split one.
func receiveUpload(r *http.Request) (*fakeUpload, []byte, string) {
	up := &fakeUpload{header: r.Header.Clone()}
	h := sha256.New()
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var data []byte
	if mediaType == "multipart/form-data" {
		mr, err := r.MultipartReader()
		for err == nil {
			var part *multipart.Part
			part, err = mr.NextPart()
			if err != nil {
				break
			}

			b, _ := io.ReadAll(part)
			h.Write(b)
			data = append(data, b...)
			up.partNames = append(up.partNames, part.FormName())
			up.partFiles = append(up.partFiles, part.FileName())
		}
	} else {
		data, _ = io.ReadAll(r.Body)
		h.Write(data)
	}

	return up, data, hex.EncodeToString(h.Sum(nil))
}

func (s *fakeImageServer) imagesPost(w http.ResponseWriter, up *fakeUpload, data []byte, fp string) {
	s.uploads = append(s.uploads, *up)
	if s.find(fp) != nil {
		s.startOp(w, "Downloading image", api.Operation{Status: "Failure", StatusCode: api.Failure,
			Err: "image with same fingerprint already exists"})
		return
	}

	img := &fakeImage{Image: api.Image{Fingerprint: fp, Type: "container", Architecture: "x86_64",
		Size: int64(len(data)), UploadedAt: time.Now()}}
	img.Filename = up.header.Get("X-LXD-filename")
	if up.partNames != nil {
		n := len(data) / 2
		img.meta, img.rootfs = data[:n], data[n:]
	} else {
		img.unified = data
	}

	props, _ := url.ParseQuery(up.header.Get("X-LXD-properties"))
	img.Properties = map[string]string{}
	for k := range props {
		img.Properties[k] = props.Get(k)
	}

	img.Public = up.header.Get("X-LXD-public") == "true"
	s.images = append(s.images, img)
	s.startOp(w, "Downloading image", api.Operation{Status: "Success", StatusCode: api.Success,
		Metadata: map[string]any{"fingerprint": fp, "size": fmt.Sprint(len(data))}})
}

func (s *fakeImageServer) image(w http.ResponseWriter, r *http.Request, rest string) {
	prefix, sub, _ := strings.Cut(rest, "/")
	img := s.find(prefix)
	if img == nil {
		fakeFail(w, 404, "Image not found")
		return
	}

	switch {
	case sub == "export":
		if img.unified != nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "inline;filename="+img.Fingerprint+".tar.gz")
			w.Header().Set("Content-Length", fmt.Sprint(len(img.unified)))
			_, _ = w.Write(img.unified)
			return
		}

		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", mw.FormDataContentType())
		pw, _ := mw.CreateFormFile("metadata", "meta-"+img.Fingerprint+".tar.xz")
		_, _ = pw.Write(img.meta)
		pw, _ = mw.CreateFormFile("rootfs", img.Fingerprint+".tar.xz")
		_, _ = pw.Write(img.rootfs)
		_ = mw.Close()
	case r.Method == http.MethodGet:
		w.Header().Set("ETag", `"etag-`+img.Fingerprint[:8]+`"`)
		fakeReply(w, 200, img.Image)
	case r.Method == http.MethodPut:
		fakeReply(w, 200, map[string]any{})
	case r.Method == http.MethodDelete:
		for i, other := range s.images {
			if other == img {
				s.images = append(s.images[:i], s.images[i+1:]...)
				break
			}
		}

		s.startOp(w, "Deleting image", api.Operation{Status: "Success", StatusCode: api.Success})
	}
}

func (s *fakeImageServer) alias(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	var owner *fakeImage
	index := -1
	for _, img := range s.images {
		for i, a := range img.Aliases {
			if a.Name == name {
				owner, index = img, i
			}
		}
	}

	if owner == nil {
		fakeFail(w, 404, "Image alias not found")
		return
	}

	switch r.Method {
	case http.MethodGet:
		a := owner.Aliases[index]
		fakeReply(w, 200, api.ImageAliasesEntry{Name: a.Name, Type: owner.Type,
			ImageAliasesEntryPut: api.ImageAliasesEntryPut{Description: a.Description, Target: owner.Fingerprint}})
	case http.MethodPost:
		var post api.ImageAliasesEntryPost
		_ = json.Unmarshal(body, &post)
		owner.Aliases[index].Name = post.Name
		w.Header().Set("Location", "/1.0/images/aliases/"+url.PathEscape(post.Name))
		fakeReply(w, 201, nil)
	case http.MethodDelete:
		owner.Aliases = append(owner.Aliases[:index], owner.Aliases[index+1:]...)
		fakeReply(w, 200, map[string]any{})
	}
}

func (s *fakeImageServer) aliasCreate(w http.ResponseWriter, body []byte) {
	var post api.ImageAliasesPost
	_ = json.Unmarshal(body, &post)
	img := s.find(post.Target)
	if img == nil {
		fakeFail(w, 404, "Image not found")
		return
	}

	for _, a := range s.aliases() {
		if a.Name == post.Name {
			fakeFail(w, 409, "Alias already exists")
			return
		}
	}

	img.Aliases = append(img.Aliases, api.ImageAlias{Name: post.Name, Description: post.Description})
	fakeReply(w, 201, nil)
}

// runImageCmd runs one CLI invocation against the configuration in dir, with a fresh command tree.
func runImageCmd(t *testing.T, dir string, stdin string, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdImage{global: global}).command())
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

// mustRunImage is runImageCmd failing the test on error.
func mustRunImage(t *testing.T, dir string, stdin string, args ...string) string {
	t.Helper()
	out, err := runImageCmd(t, dir, stdin, args...)
	if err != nil {
		t.Fatalf("lxc %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	return out
}

var errNoRequest = errors.New("no such request")

// bodyOf returns the body of the first request whose "METHOD uri" line is line.
func (s *fakeImageServer) bodyOf(line string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.requests {
		if r == line {
			return s.bodies[i], s.ifMatch[i], nil
		}
	}

	return "", "", errNoRequest
}
