package client

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"sort"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestGetImages(t *testing.T) {
	s, c := newImageTestServer(t)
	unifiedFP := sha([]byte("unified image tarball"))

	fps, err := c.GetImageFingerprints()
	if err != nil {
		t.Fatal(err)
	}

	sort.Strings(fps)
	if len(fps) != 3 || sort.SearchStrings(fps, brokenFP) == 3 || fps[sort.SearchStrings(fps, brokenFP)] != brokenFP {
		t.Fatalf("got fingerprints %v, want the three images", fps)
	}

	images, err := c.GetImages()
	if err != nil {
		t.Fatal(err)
	}

	if len(images) != 3 {
		t.Fatalf("got %d images, want 3", len(images))
	}

	_, err = c.GetImagesWithFilter([]string{"architecture=x86_64", "public=true"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.GetImagesWithFilter([]string{})
	if err != nil {
		t.Fatal(err)
	}

	img, etag, err := c.GetImage(unifiedFP[:8])
	if err != nil {
		t.Fatal(err)
	}

	if img.Fingerprint != unifiedFP || etag != "etag-"+unifiedFP[:4] {
		t.Fatalf("got image %s with ETag %q, want %s with its ETag", img.Fingerprint, etag, unifiedFP)
	}

	_, _, err = c.GetImageSecret(unifiedFP, "a b")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetImage("ffff")
	if !api.StatusErrorCheck(err, 404) || err.Error() != "Image not found" {
		t.Fatalf("got %v, want the server's 404", err)
	}

	want := []string{
		"GET /1.0",
		"GET /1.0/images",
		"GET /1.0/images?recursion=1",
		"GET /1.0/images?filter=architecture+eq+x86_64+and+public+eq+true&recursion=1",
		"GET /1.0/images?filter=&recursion=1",
		"GET /1.0/images/" + unifiedFP[:8],
		"GET /1.0/images/" + unifiedFP + "?secret=a+b",
		"GET /1.0/images/ffff",
	}

	got := s.log()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUpdateAndDeleteImage(t *testing.T) {
	s, c := newImageTestServer(t)
	fp := sha([]byte("unified image tarball"))

	put := api.ImagePut{Public: true, Properties: map[string]string{"os": "edited"}, Profiles: []string{"default"}}
	err := c.UpdateImage(fp, put, "etag-x")
	if err != nil {
		t.Fatal(err)
	}

	s.mu.Lock()
	ifMatch, body := s.ifMatch, s.lastBody
	s.mu.Unlock()
	if ifMatch != `"etag-x"` {
		t.Fatalf("got If-Match %q, want the quoted ETag", ifMatch)
	}

	props, _ := body["properties"].(map[string]any)
	if body["public"] != true || props["os"] != "edited" || len(body) != 5 {
		t.Fatalf("got body %v, want the five writable fields", body)
	}

	err = c.UpdateImage(fp, put, "")
	if err != nil {
		t.Fatal(err)
	}

	s.mu.Lock()
	ifMatch = s.ifMatch
	s.mu.Unlock()
	if ifMatch != "" {
		t.Fatalf("got If-Match %q without an ETag", ifMatch)
	}

	tests := []struct {
		name    string
		fp      string
		wantErr string
	}{
		{"success", fp, ""},
		{"failure", brokenFP, "image is in use"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := c.DeleteImage(tt.fp)
			if err != nil {
				t.Fatal(err)
			}

			if op.Get().Description != "Deleting image" || op.Get().StatusCode != api.Running {
				t.Fatalf("got operation %+v, want the running delete", op.Get())
			}

			err = op.Wait()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("got %v, want success", err)
			}

			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}

			if !op.Get().StatusCode.IsFinal() {
				t.Fatalf("got status %d after Wait, want final", op.Get().StatusCode)
			}
		})
	}

	_, err = c.DeleteImage("ffff")
	if !api.StatusErrorCheck(err, 404) {
		t.Fatalf("got %v, want 404", err)
	}

	op, err := c.CreateImageSecret(fp[:6])
	if err != nil {
		t.Fatal(err)
	}

	if op.Get().Metadata["secret"] != "s3cret" {
		t.Fatalf("got metadata %v, want the secret", op.Get().Metadata)
	}
}

// seekless hides the Seek method of a reader, as a pipe would.
type seekless struct{ io.Reader }

func TestCreateImageUpload(t *testing.T) {
	meta, rootfs := []byte("new metadata"), bytes.Repeat([]byte("r"), 100000)
	tests := []struct {
		name        string
		image       api.ImagesPost
		args        ImageCreateArgs
		wantHeaders map[string]string
		wantParts   []string
		wantFiles   []string
		wantLength  int64
		wantFP      string
	}{{
		name: "unified private",
		args: ImageCreateArgs{MetaFile: bytes.NewReader(rootfs), MetaName: "/some/dir/bb-unified.tar.gz"},
		wantHeaders: map[string]string{"Content-Type": "application/octet-stream",
			"X-Lxd-Filename": "bb-unified.tar.gz", "X-Lxd-Public": "", "X-Lxd-Properties": "", "X-Lxd-Profiles": ""},
		wantLength: int64(len(rootfs)),
		wantFP:     sha(rootfs),
	}, {
		name: "unified public with properties and profiles",
		image: api.ImagesPost{ImagePut: api.ImagePut{Public: true, Profiles: []string{"a", "b"},
			Properties: map[string]string{"os": "probe-os", "description": "hello world&x"}}},
		args: ImageCreateArgs{MetaFile: seekless{bytes.NewReader(meta)}, MetaName: "img.tar"},
		wantHeaders: map[string]string{"X-Lxd-Filename": "img.tar", "X-Lxd-Public": "true",
			"X-Lxd-Properties": "description=hello+world%26x&os=probe-os", "X-Lxd-Profiles": "profile=a&profile=b"},
		wantLength: -1,
		wantFP:     sha(meta),
	}, {
		name:  "split",
		image: api.ImagesPost{ImagePut: api.ImagePut{Public: true}},
		args: ImageCreateArgs{MetaFile: bytes.NewReader(meta), MetaName: "dir/meta.tar.xz",
			RootfsFile: bytes.NewReader(rootfs), RootfsName: "dir/rootfs.tar.xz"},
		wantHeaders: map[string]string{"X-Lxd-Filename": "meta.tar.xz", "X-Lxd-Public": "true"},
		wantParts:   []string{"metadata", "rootfs"},
		wantFiles:   []string{"meta.tar.xz", "rootfs.tar.xz"},
		wantLength:  -1,
		wantFP:      sha(meta, rootfs),
	}, {
		name: "split virtual machine",
		args: ImageCreateArgs{MetaFile: bytes.NewReader(meta), MetaName: "meta.tar.xz",
			RootfsFile: bytes.NewReader(rootfs), RootfsName: "disk.qcow2", Type: "virtual-machine"},
		wantParts:  []string{"metadata", "rootfs.img"},
		wantFiles:  []string{"meta.tar.xz", "disk.qcow2"},
		wantLength: -1,
		wantFP:     sha(meta, rootfs),
	}}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newImageTestServer(t)
			var lastSent, lastTotal int64
			tt.args.ProgressHandler = func(sent int64, total int64) {
				if sent < lastSent {
					t.Errorf("progress went back from %d to %d", lastSent, sent)
				}

				lastSent, lastTotal = sent, total
			}

			op, err := c.CreateImage(tt.image, &tt.args)
			if err != nil {
				t.Fatal(err)
			}

			err = op.Wait()
			if err != nil {
				t.Fatal(err)
			}

			if op.Get().Metadata["fingerprint"] != tt.wantFP {
				t.Fatalf("got fingerprint %v, want %s", op.Get().Metadata["fingerprint"], tt.wantFP)
			}

			s.mu.Lock()
			rec := s.uploads[0]
			s.mu.Unlock()
			for k, want := range tt.wantHeaders {
				got := rec.header.Get(k)
				if k == "Content-Type" {
					got, _, _ = mime.ParseMediaType(got)
				}

				if got != want {
					t.Errorf("got header %s %q, want %q", k, got, want)
				}
			}

			if tt.wantParts != nil {
				mediaType, _, _ := mime.ParseMediaType(rec.header.Get("Content-Type"))
				if mediaType != "multipart/form-data" {
					t.Fatalf("got content type %q, want multipart/form-data", mediaType)
				}

				if fmt.Sprint(rec.partNames) != fmt.Sprint(tt.wantParts) || fmt.Sprint(rec.partFiles) != fmt.Sprint(tt.wantFiles) {
					t.Fatalf("got parts %v %v, want %v %v", rec.partNames, rec.partFiles, tt.wantParts, tt.wantFiles)
				}

				if !bytes.Equal(rec.partData[0], meta) || !bytes.Equal(rec.partData[1], rootfs) {
					t.Fatal("part contents differ from the files")
				}
			}

			if rec.contentLength != tt.wantLength {
				t.Fatalf("got Content-Length %d, want %d", rec.contentLength, tt.wantLength)
			}

			wantSent := int64(len(meta))
			if tt.args.RootfsFile != nil {
				wantSent += int64(len(rootfs))
			} else if tt.wantLength > 0 {
				wantSent = tt.wantLength
			}

			if lastSent != wantSent {
				t.Fatalf("progress ended at %d, want %d", lastSent, wantSent)
			}

			if tt.wantLength == -1 && tt.args.RootfsFile == nil && lastTotal != 0 {
				t.Fatalf("got total %d for an unsized reader, want 0", lastTotal)
			}

			if tt.args.RootfsFile != nil && lastTotal != wantSent {
				t.Fatalf("got total %d, want %d", lastTotal, wantSent)
			}
		})
	}
}

func TestCreateImageFailures(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	existing := []byte("unified image tarball")
	tests := []struct {
		name     string
		rejectAt int
		args     ImageCreateArgs
		want     string
		wantCode int
	}{
		{"unified rejected while uploading", 4096, ImageCreateArgs{MetaFile: bytes.NewReader(big), MetaName: "x"},
			"invalid image: not a tarball", 400},
		{"split rejected while uploading", 4096, ImageCreateArgs{MetaFile: bytes.NewReader(big), MetaName: "m",
			RootfsFile: bytes.NewReader(big), RootfsName: "r"}, "invalid image: not a tarball", 400},
		{"duplicate", 0, ImageCreateArgs{MetaFile: bytes.NewReader(existing), MetaName: "x"},
			"Image with same fingerprint already exists", 0},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newImageTestServer(t)
			s.mu.Lock()
			s.rejectAt = tt.rejectAt
			s.mu.Unlock()
			op, err := c.CreateImage(api.ImagesPost{}, &tt.args)
			if tt.wantCode != 0 {
				if !api.StatusErrorCheck(err, tt.wantCode) || err.Error() != tt.want {
					t.Fatalf("got %v, want the server's %d %q", err, tt.wantCode, tt.want)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			err = op.Wait()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}

	_, c := newImageTestServer(t)
	_, err := c.CreateImage(api.ImagesPost{}, &ImageCreateArgs{})
	if err == nil {
		t.Fatal("got no error for an upload without a file")
	}
}

func TestCreateImageJSON(t *testing.T) {
	s, c := newImageTestServer(t)
	image := api.ImagesPost{Source: &api.ImagesPostSource{Type: "url", Mode: "pull", URL: "https://127.0.0.1:1/img"}}
	op, err := c.CreateImage(image, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = op.Wait()
	if err != nil {
		t.Fatal(err)
	}

	s.mu.Lock()
	rec := s.uploads[0]
	s.mu.Unlock()
	source, _ := rec.json["source"].(map[string]any)
	if source["type"] != "url" || source["url"] != "https://127.0.0.1:1/img" {
		t.Fatalf("got body %v, want the JSON request", rec.json)
	}
}

func TestGetImageFile(t *testing.T) {
	unified := []byte("unified image tarball")
	meta, rootfs := []byte("metadata tarball"), []byte("rootfs tarball, a bit longer")
	unifiedFP, splitFP := sha(unified), sha(meta, rootfs)
	tests := []struct {
		name       string
		fp         string
		mode       string
		noRootfs   bool
		wantErr    string
		wantMeta   []byte
		wantRootfs []byte
		wantNames  [2]string
	}{
		{name: "unified", fp: unifiedFP, wantMeta: unified, wantNames: [2]string{unifiedFP + ".tar.gz", ""}},
		{name: "unified by prefix", fp: unifiedFP[:12], wantMeta: unified,
			wantNames: [2]string{unifiedFP + ".tar.gz", ""}},
		{name: "split", fp: splitFP, wantMeta: meta, wantRootfs: rootfs,
			wantNames: [2]string{"meta-" + splitFP + ".tar.xz", splitFP + ".tar.xz"}},
		{name: "split vm", fp: splitFP, mode: "vm", wantMeta: meta, wantRootfs: rootfs,
			wantNames: [2]string{"meta-" + splitFP + ".tar.xz", splitFP + ".tar.xz"}},
		{name: "corrupt", fp: unifiedFP, mode: "corrupt", wantErr: "image fingerprint doesn't match"},
		{name: "no content disposition", fp: unifiedFP, mode: "no-disposition", wantErr: "no Content-Disposition"},
		{name: "no filename", fp: unifiedFP, mode: "no-filename", wantErr: "no filename in Content-Disposition"},
		{name: "path filename", fp: unifiedFP, mode: "path-filename", wantErr: "invalid file name"},
		{name: "parts reversed", fp: splitFP, mode: "reversed", wantErr: `part 1 is "rootfs", want "metadata"`},
		{name: "extra part", fp: splitFP, mode: "extra", wantErr: "more than two parts"},
		{name: "split without rootfs writer", fp: splitFP, noRootfs: true, wantErr: "without a rootfs file"},
		{name: "unknown", fp: "ffff", wantErr: "Image not found"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newImageTestServer(t)
			s.mu.Lock()
			s.exportMode = tt.mode
			s.mu.Unlock()
			var metaBuf, rootfsBuf bytes.Buffer
			var received int64
			req := ImageFileRequest{MetaFile: &metaBuf, RootfsFile: &rootfsBuf,
				ProgressHandler: func(n int64, total int64) { received = n }}
			if tt.noRootfs {
				req.RootfsFile = nil
			}

			resp, err := c.GetImageFile(tt.fp, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if !bytes.Equal(metaBuf.Bytes(), tt.wantMeta) || !bytes.Equal(rootfsBuf.Bytes(), tt.wantRootfs) {
				t.Fatalf("got files %q %q, want %q %q", metaBuf.Bytes(), rootfsBuf.Bytes(), tt.wantMeta, tt.wantRootfs)
			}

			if resp.MetaName != tt.wantNames[0] || resp.RootfsName != tt.wantNames[1] {
				t.Fatalf("got names %q %q, want %q", resp.MetaName, resp.RootfsName, tt.wantNames)
			}

			wantSize := int64(len(tt.wantMeta) + len(tt.wantRootfs))
			if resp.Size != wantSize || resp.MetaSize != int64(len(tt.wantMeta)) || received != wantSize {
				t.Fatalf("got sizes %+v and progress %d, want %d in all", resp, received, wantSize)
			}
		})
	}
}

func TestDispositionFilename(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"inline;filename=abc.tar.gz", "abc.tar.gz", true},
		{`attachment; filename="a b.tar.xz"`, "a b.tar.xz", true},
		{"inline", "", false},
		{"", "", false},
		{"inline;filename=..", "", false},
		{`inline;filename="a/b"`, "", false},
		{"inline;filename", "", false},
	}

	for _, tt := range tests {
		got, err := dispositionFilename(tt.header)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("dispositionFilename(%q): got %q, %v, want %q (ok %v)", tt.header, got, err, tt.want, tt.ok)
		}
	}
}

func TestImageAliases(t *testing.T) {
	s, c := newImageTestServer(t)
	unifiedFP := sha([]byte("unified image tarball"))

	err := c.CreateImageAlias(api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: "a/b c",
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: unifiedFP[:6], Description: "desc"}}})
	if err != nil {
		t.Fatal(err)
	}

	s.mu.Lock()
	body := s.lastBody
	s.mu.Unlock()
	if body["target"] != unifiedFP[:6] || body["name"] != "a/b c" || body["type"] != "" {
		t.Fatalf("got body %v, want the target as typed", body)
	}

	names, err := c.GetImageAliasNames()
	if err != nil {
		t.Fatal(err)
	}

	sort.Strings(names)
	if fmt.Sprint(names) != "[a/b c ubuntu/22.04]" {
		t.Fatalf("got names %q", names)
	}

	aliases, err := c.GetImageAliases()
	if err != nil {
		t.Fatal(err)
	}

	if len(aliases) != 2 {
		t.Fatalf("got %d aliases, want 2", len(aliases))
	}

	alias, etag, err := c.GetImageAlias("a/b c")
	if err != nil {
		t.Fatal(err)
	}

	if alias.Target != unifiedFP || alias.Description != "desc" || etag != "alias-etag" {
		t.Fatalf("got alias %+v, ETag %q, want the expanded target", alias, etag)
	}

	_, _, err = c.GetImageAliasType("virtual-machine", "a/b c")
	if !api.StatusErrorCheck(err, 404) {
		t.Fatalf("got %v, want 404 for an alias of another type", err)
	}

	_, _, err = c.GetImageAliasType("container", "a/b c")
	if err != nil {
		t.Fatal(err)
	}

	err = c.UpdateImageAlias("a/b c", api.ImageAliasesEntryPut{Target: unifiedFP, Description: "new"}, "alias-etag")
	if err != nil {
		t.Fatal(err)
	}

	s.mu.Lock()
	ifMatch := s.ifMatch
	s.mu.Unlock()
	if ifMatch != `"alias-etag"` {
		t.Fatalf("got If-Match %q", ifMatch)
	}

	err = c.RenameImageAlias("a/b c", api.ImageAliasesEntryPost{Name: "renamed"})
	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteImageAlias("renamed")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetImageAlias("renamed")
	if !api.StatusErrorCheck(err, 404) || err.Error() != "Image alias not found" {
		t.Fatalf("got %v, want 404", err)
	}

	want := []string{
		"POST /1.0/images/aliases",
		"GET /1.0/images/aliases",
		"GET /1.0/images/aliases?recursion=1",
		"GET /1.0/images/aliases/a%2Fb%20c",
		"GET /1.0/images/aliases/a%2Fb%20c",
		"GET /1.0/images/aliases/a%2Fb%20c",
		"PUT /1.0/images/aliases/a%2Fb%20c",
		"POST /1.0/images/aliases/a%2Fb%20c",
		"DELETE /1.0/images/aliases/renamed",
		"GET /1.0/images/aliases/renamed",
	}

	got := s.log()[1:]
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
