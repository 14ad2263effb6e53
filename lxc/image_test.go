package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// TestImageStockGolden runs the read-only image commands against the images of testdata/images.json and compares
// their output with testdata/stock-*, printed by the stock LXD 5.0.2 client from a server returning the same JSON.
func TestImageStockGolden(t *testing.T) {
	_, conf := newFakeImageServer(t)
	tests := []struct {
		golden string
		args   []string
	}{
		{"stock-image-list.table", []string{"image", "list"}},
		{"stock-image-list.compact", []string{"image", "list", "--format", "compact"}},
		{"stock-image-list.csv", []string{"image", "list", "--format", "csv"}},
		{"stock-image-list.json", []string{"image", "list", "--format", "json"}},
		{"stock-image-list.yaml", []string{"image", "list", "--format", "yaml"}},
		{"stock-image-list-all-columns.table", []string{"image", "list", "-c", "lLfFpdatsu"}},
		{"stock-image-list-LF.csv", []string{"image", "ls", "-c", "L,F", "--format", "csv"}},
		{"stock-image-info-bb.txt", []string{"image", "info", "bb"}},
		{"stock-image-info-c75e.txt", []string{"image", "info", "local:c75e"}},
		{"stock-image-info-0011.txt", []string{"image", "info", "0011"}},
		{"stock-image-show-bb.yaml", []string{"image", "show", "bb"}},
		{"stock-image-show-c75e.yaml", []string{"image", "show", "c75e"}},
		{"stock-image-alias-list.table", []string{"image", "alias", "list"}},
		{"stock-image-alias-list.csv", []string{"image", "alias", "list", "--format", "csv"}},
		{"stock-image-alias-list.json", []string{"image", "alias", "list", "--format", "json"}},
		{"stock-image-alias-list.yaml", []string{"image", "alias", "list", "--format", "yaml"}},
		{"stock-image-alias-list-img.csv", []string{"image", "alias", "list", "local:", "img", "--format", "csv"}},
	}

	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}

			got := mustRunImage(t, conf, "", tt.args...)
			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// listColumn runs "lxc image list" with csv output of the fingerprint column and returns the rows.
func imageListColumn(t *testing.T, conf string, args ...string) string {
	t.Helper()
	out := mustRunImage(t, conf, "", append([]string{"image", "list", "-c", "f", "--format", "csv"}, args...)...)
	return strings.Join(strings.Fields(out), " ")
}

func TestImageListFilters(t *testing.T) {
	s, conf := newFakeImageServer(t)
	const bb, vm, noAlias, dup = "aa2149e1633d", "c75e3c01e6f4", "001122334455", "ff1122334455"
	tests := []struct {
		name       string
		args       []string
		badFilter  bool
		want       string
		wantFilter string
	}{
		{"none", nil, false, noAlias + " " + bb + " " + vm + " " + dup, ""},
		{"alias substring", []string{"split"}, false, bb, ""},
		{"fingerprint substring", []string{"2149e"}, false, bb, ""},
		{"alias part", []string{"mg1"}, false, bb + " " + dup, ""},
		{"remote and filter in one", []string{"local:img9"}, false, vm, ""},
		{"property", []string{"os=busybox"}, false, bb, ""},
		{"property key prefix", []string{"o=busybox"}, false, bb, ""},
		{"property anchored", []string{"os=busy"}, false, "", ""},
		{"property regexp", []string{"os=busy.*"}, false, bb, ""},
		{"dotted key prefixes", []string{"u.f=bar"}, false, vm, ""},
		{"several values stay local", []string{"type=container,virtual-machine"}, false, "", ""},
		{"all filters must match", []string{"img", "os=alpine"}, false, vm, ""},
		{"server filter", []string{"architecture=x86_64", "public=true"}, false,
			noAlias + " " + bb + " " + vm + " " + dup, "architecture+eq+x86_64+and+public+eq+true"},
		{"server filter with local one", []string{"fingerprint=ff", "img10"}, false,
			bb + " " + dup, "fingerprint+eq+ff"},
		{"refused server filter falls back", []string{"public=true"}, true, bb, ""},
		{"fallback field match", []string{"architecture=aarch64"}, true, vm, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.resetLog()
			s.mu.Lock()
			s.badFilt = tt.badFilter
			s.mu.Unlock()
			got := imageListColumn(t, conf, tt.args...)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}

			log := s.log()
			want := "GET /1.0/images?filter=" + tt.wantFilter + "&recursion=1"
			if tt.badFilter {
				want = "GET /1.0/images?recursion=1"
			}

			if log[len(log)-1] != want {
				t.Fatalf("got requests %v, want the last to be %q", log, want)
			}
		})
	}

	for _, args := range [][]string{{"-c", "x"}, {"-c", "l,,f"}, {"--format", "xml"}, {"nope:"}} {
		_, err := runImageCmd(t, conf, "", append([]string{"image", "list"}, args...)...)
		if err == nil {
			t.Fatalf("image list %v: got no error", args)
		}
	}
}

func TestImageCommandsRequests(t *testing.T) {
	s, conf := newFakeImageServer(t)
	const bbFP = "aa2149e1633d32bbe5444cd5deaf092bbed5e345874071749972276789020320"
	const vmFP = "c75e3c01e6f4a0b0c0d0e0f00000000000000000000000000000000000009526"

	// Edit from standard input: no GET of the image and no If-Match, only the parsed fields.
	s.resetLog()
	mustRunImage(t, conf, "properties:\n  os: edited\npublic: true\n", "image", "edit", "bb")
	body, ifMatch, err := s.bodyOf("PUT /1.0/images/" + bbFP)
	if err != nil {
		t.Fatalf("got requests %v, want a PUT of the alias target", s.log())
	}

	want := `{"auto_update":false,"properties":{"os":"edited"},"public":true,"expires_at":"0001-01-01T00:00:00Z","profiles":null}`
	if body != want || ifMatch != "" {
		t.Fatalf("got body %s (If-Match %q), want %s", body, ifMatch, want)
	}

	if fmt.Sprint(s.log()) != "[GET /1.0/images/aliases/bb PUT /1.0/images/"+bbFP+"]" {
		t.Fatalf("got requests %v", s.log())
	}

	_, err = runImageCmd(t, conf, "public: notbool\n", "image", "edit", "bb")
	if err == nil || !strings.Contains(err.Error(), "cannot unmarshal") {
		t.Fatalf("got %v, want a YAML error", err)
	}

	// --vm only takes aliases of virtual machine images; a name that is no such alias is a fingerprint prefix.
	s.resetLog()
	_, err = runImageCmd(t, conf, "", "image", "info", "bb", "--vm")
	if err == nil || err.Error() != "Image not found" {
		t.Fatalf("got %v, want the server's not found", err)
	}

	mustRunImage(t, conf, "", "image", "show", "img9", "--vm")
	wantLog := "[GET /1.0/images/aliases/bb GET /1.0/images/bb GET /1.0/images/aliases/img9 GET /1.0/images/" + vmFP + "]"
	if fmt.Sprint(s.log()) != wantLog {
		t.Fatalf("got requests %v, want %s", s.log(), wantLog)
	}

	// Aliases: the create target goes as typed, names are path-escaped.
	s.resetLog()
	mustRunImage(t, conf, "", "image", "alias", "create", "local:a/b", "aa21")
	body, _, _ = s.bodyOf("POST /1.0/images/aliases")
	if body != `{"description":"","target":"aa21","name":"a/b","type":""}` {
		t.Fatalf("got alias create body %s", body)
	}

	mustRunImage(t, conf, "", "image", "alias", "rename", "a/b", "c d")
	body, _, _ = s.bodyOf("POST /1.0/images/aliases/a%2Fb")
	if body != `{"name":"c d"}` {
		t.Fatalf("got rename body %s, requests %v", body, s.log())
	}

	out := mustRunImage(t, conf, "", "image", "alias", "list", "c d", "--format", "csv")
	if out != "c d,aa2149e1633d,CONTAINER,\n" {
		t.Fatalf("got alias list %q", out)
	}

	mustRunImage(t, conf, "", "image", "alias", "rm", "c d")
	if s.log()[len(s.log())-1] != "DELETE /1.0/images/aliases/c%20d" {
		t.Fatalf("got requests %v", s.log())
	}

	// Errors and argument checks.
	errorCases := []struct {
		args []string
		want string
	}{
		{[]string{"image", "alias", "delete", "nope"}, "Image alias not found"},
		{[]string{"image", "alias", "delete", "local:"}, "alias name missing"},
		{[]string{"image", "alias", "create", "x"}, "invalid number of arguments"},
		{[]string{"image", "info", "local:"}, "image identifier missing"},
		{[]string{"image", "delete", "bb", "local:"}, "image identifier missing"},
		{[]string{"image", "show", "ffff"}, "Image not found"},
		{[]string{"image", "info", "a", "b"}, "invalid number of arguments"},
	}

	for _, tc := range errorCases {
		_, err := runImageCmd(t, conf, "", tc.args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("lxc %v: got %v, want %q", tc.args, err, tc.want)
		}
	}

	// Without arguments, the help is the answer.
	out, err = runImageCmd(t, conf, "", "image", "delete")
	if err != nil || !strings.Contains(out, "Delete images") {
		t.Fatalf("got %v, %q, want the help", err, out)
	}
}

func TestImageImportExportDelete(t *testing.T) {
	s, conf := newFakeImageServer(t)
	dir := t.TempDir()
	unified := bytes.Repeat([]byte("unified "), 10000)
	meta, rootfs := bytes.Repeat([]byte("m"), 5000), bytes.Repeat([]byte("r"), 5000)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		err := os.WriteFile(path, data, 0o644)
		if err != nil {
			t.Fatal(err)
		}

		return path
	}

	unifiedPath := write("bb.tar.gz", unified)
	metaPath, rootfsPath := write("meta.tar.xz", meta), write("rootfs.tar.xz", rootfs)
	sum := func(parts ...[]byte) string {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}

		return hex.EncodeToString(h.Sum(nil))
	}

	unifiedFP, splitFP := sum(unified), sum(meta, rootfs)

	// Unified import with properties and aliases; "new" replaces an existing alias of that name.
	s.resetLog()
	out := mustRunImage(t, conf, "", "image", "import", unifiedPath, "local:", "description=hello world&x", "os=probe",
		"--alias", "new", "--alias", "bb")
	if out != "\rImage imported with fingerprint: "+unifiedFP+"\n" {
		t.Fatalf("got %q", out)
	}

	s.mu.Lock()
	up := s.uploads[0]
	s.mu.Unlock()
	if up.header.Get("X-LXD-filename") != "bb.tar.gz" || up.header.Get("X-LXD-public") != "" ||
		up.header.Get("X-LXD-properties") != "description=hello+world%26x&os=probe" ||
		up.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("got upload headers %v", up.header)
	}

	log := s.log()
	wantTail := []string{"GET /1.0/images/aliases?recursion=1", "POST /1.0/images/aliases",
		"DELETE /1.0/images/aliases/bb", "POST /1.0/images/aliases"}
	if fmt.Sprint(log[len(log)-4:]) != fmt.Sprint(wantTail) {
		t.Fatalf("got requests %v, want them to end with %v", log, wantTail)
	}

	info := mustRunImage(t, conf, "", "image", "info", "bb")
	if !strings.Contains(info, "Fingerprint: "+unifiedFP) {
		t.Fatalf("alias bb does not point at the new image:\n%s", info)
	}

	// Split import, public, quiet.
	s.resetLog()
	out = mustRunImage(t, conf, "", "image", "import", "-q", metaPath, rootfsPath, "--public")
	if out != "" {
		t.Fatalf("got %q in quiet mode", out)
	}

	s.mu.Lock()
	up = s.uploads[0]
	s.mu.Unlock()
	if fmt.Sprint(up.partNames) != "[metadata rootfs]" || fmt.Sprint(up.partFiles) != "[meta.tar.xz rootfs.tar.xz]" ||
		up.header.Get("X-LXD-filename") != "meta.tar.xz" || up.header.Get("X-LXD-public") != "true" {
		t.Fatalf("got split upload %v %v %v", up.partNames, up.partFiles, up.header)
	}

	// A duplicate fails with the operation's error.
	_, err := runImageCmd(t, conf, "", "image", "import", unifiedPath)
	if err == nil || err.Error() != "image with same fingerprint already exists" {
		t.Fatalf("got %v, want the duplicate error", err)
	}

	// A URL import is a JSON request naming the source; plain HTTP is refused.
	s.resetLog()
	mustRunImage(t, conf, "", "image", "import", "https://127.0.0.1:1/img/bb", "--public")
	body, _, err := s.bodyOf("POST /1.0/images")
	if err != nil || !strings.Contains(body, `"source":{"alias":"","certificate":"","protocol":"direct","server":"",`+
		`"image_type":"","mode":"pull","type":"url","url":"https://127.0.0.1:1/img/bb"`) || !strings.Contains(body, `"public":true`) {
		t.Fatalf("got %v %s, want the URL source", err, body)
	}

	_, err = runImageCmd(t, conf, "", "image", "import", "http://127.0.0.1:1/img/bb")
	if err == nil || err.Error() != "only https:// is supported for remote image import" {
		t.Fatalf("got %v", err)
	}

	// Exports: into a directory with the server's names, and to a target path.
	exportDir := filepath.Join(dir, "out")
	err = os.Mkdir(exportDir, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	checkFile := func(path string, want []byte) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}

		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the image file", path)
		}
	}

	out = mustRunImage(t, conf, "", "image", "export", "new", exportDir)
	if out != "\rImage exported successfully!\n" {
		t.Fatalf("got %q", out)
	}

	checkFile(filepath.Join(exportDir, unifiedFP+".tar.gz"), unified)
	mustRunImage(t, conf, "", "image", "export", splitFP[:10], exportDir)
	checkFile(filepath.Join(exportDir, "meta-"+splitFP+".tar.xz"), meta)
	checkFile(filepath.Join(exportDir, splitFP+".tar.xz"), rootfs)
	mustRunImage(t, conf, "", "image", "export", "new", filepath.Join(dir, "target"))
	checkFile(filepath.Join(dir, "target.tar.gz"), unified)
	mustRunImage(t, conf, "", "image", "export", splitFP, filepath.Join(dir, "split"))
	checkFile(filepath.Join(dir, "split"), meta)
	checkFile(filepath.Join(dir, "split.root"), rootfs)

	entries, err := os.ReadDir(exportDir)
	if err != nil {
		t.Fatal(err)
	}

	if len(entries) != 3 {
		t.Fatalf("got %d files in the export directory, want 3 (no temporary file left)", len(entries))
	}

	_, err = runImageCmd(t, conf, "", "image", "export", "ffff", filepath.Join(dir, "missing"))
	if err == nil || err.Error() != "Image not found" {
		t.Fatalf("got %v, want the server's error", err)
	}

	for _, leftover := range []string{"missing", "missing.root"} {
		_, err = os.Stat(filepath.Join(dir, leftover))
		if !os.IsNotExist(err) {
			t.Fatalf("%s left behind after a failed export: %v", leftover, err)
		}
	}

	// Delete several images, one by alias and one by prefix.
	s.resetLog()
	mustRunImage(t, conf, "", "image", "delete", "new", "local:"+splitFP[:12])
	want := []string{"GET /1.0/images/aliases/new", "DELETE /1.0/images/" + unifiedFP,
		"GET /1.0/images/aliases/" + splitFP[:12], "DELETE /1.0/images/" + splitFP[:12]}
	var deletes []string
	for _, l := range s.log() {
		if !strings.HasPrefix(l, "GET /1.0/operations/") {
			deletes = append(deletes, l)
		}
	}

	if fmt.Sprint(deletes) != fmt.Sprint(want) {
		t.Fatalf("got requests %v, want %v", deletes, want)
	}

	if s.find(unifiedFP) != nil || s.find(splitFP) != nil {
		t.Fatal("images still there after delete")
	}
}

func TestExportFilesFailure(t *testing.T) {
	dir := t.TempDir()
	files, err := createExportFiles(dir)
	if err != nil {
		t.Fatal(err)
	}

	err = files.finish(&client.ImageFileResponse{MetaName: "../escape", MetaSize: 1})
	if err == nil {
		t.Fatal("got no error for a file name with a path")
	}

	files.abort()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	if len(entries) != 0 {
		t.Fatalf("got %d files left, want none", len(entries))
	}

	_, err = createExportFiles(filepath.Join(dir, "no", "such", "dir"))
	if err == nil {
		t.Fatal("got no error for a target in a missing directory")
	}
}

func TestParseImportArgs(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "a=b")
	err := os.WriteFile(odd, nil, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	_, conf := newFakeImageServer(t)
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"img.tar"}, "local img.tar  map[]", ""},
		{[]string{"local:", "m", "r", "k=v", "x=1=2"}, "local m r map[k:v x:1=2]", ""},
		{[]string{odd, "k=v"}, "local " + odd + "  map[k:v]", ""},
		{[]string{"k=v"}, "", "image file missing"},
		{[]string{"a", "b", "c"}, "", `unexpected argument "c": an image has at most two files`},
		{[]string{"a", "=v"}, "", "bad property: =v"},
		{[]string{"a", "nope:"}, "", `the remote "nope" doesn't exist`},
	}

	loaded := mustLoadConfig(t, conf)
	for _, tt := range tests {
		parsed, err := (&cmdGlobal{conf: loaded}).parseImportArgs(tt.args)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: got %v, want %q", tt.args, err, tt.wantErr)
			}

			continue
		}

		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}

		got := fmt.Sprintf("%s %s %s %v", parsed.remote, parsed.imageFile, parsed.rootfsFile, parsed.properties)
		if got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestImageColumnsAndFilters(t *testing.T) {
	_, err := parseImageColumns("lfx")
	if err == nil || err.Error() != "unknown column shorthand char 'x' in 'lfx'" {
		t.Fatalf("got %v", err)
	}

	_, err = parseImageColumns("l,")
	if err == nil || !strings.HasPrefix(err.Error(), "empty column entry") {
		t.Fatalf("got %v", err)
	}

	cols, err := parseImageColumns("l,f")
	if err != nil || len(cols) != 2 {
		t.Fatalf("got %d columns, %v", len(cols), err)
	}

	server, local := splitImageFilters([]string{"os=x", "public=true", "type=a,b", "img", "Architecture=x",
		"update_source=x", "fingerprint=ab", "properties=x"})
	if fmt.Sprint(server) != "[public=true fingerprint=ab properties=x]" ||
		fmt.Sprint(local) != "[os=x type=a,b img Architecture=x update_source=x]" {
		t.Fatalf("got server %v, local %v", server, local)
	}

	aliases := []api.ImageAlias{{Name: "zzzz"}, {Name: "ab"}, {Name: "cd"}}
	if imageShortestAlias(api.Image{Aliases: aliases}) != "ab (2 more)" {
		t.Fatalf("got %q", imageShortestAlias(api.Image{Aliases: aliases}))
	}

	entry := api.ImageAliasesEntry{Name: "probe-split",
		ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: "aa2149e1633d32bb"}}
	for filters, want := range map[string]bool{"": true, "split": true, "33d32bb": true, "zz": false, "zz split": true} {
		got := aliasMatches(entry, strings.Fields(filters))
		if got != want {
			t.Errorf("aliasMatches(%q): got %v, want %v", filters, got, want)
		}
	}
}

func TestProgressRenderer(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		quiet    bool
		updates  []string
		done     string
		want     string
	}{
		{"not a terminal", false, false, []string{"50%"}, "Image imported", "\rImage imported\n"},
		{"quiet", true, true, []string{"50%"}, "Image imported", ""},
		{"failure without progress", false, false, nil, "", ""},
		{"terminal", true, false, []string{"100% (1.00MB/s)", "5%"}, "Done",
			"\rTransferring: 100% (1.00MB/s)\rTransferring: 5%" + strings.Repeat(" ", 13) + "\r" +
				strings.Repeat(" ", 29) + "\rDone\n"},
		{"terminal failure", true, false, []string{"5%"}, "", "\rTransferring: 5%\r" + strings.Repeat(" ", 16) + "\r"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out, "Transferring: %s", tt.quiet)
			p.terminal = tt.terminal
			for _, u := range tt.updates {
				p.update(u)
			}

			p.done(tt.done)
			p.done("twice")
			p.update("after")
			if out.String() != tt.want {
				t.Fatalf("got %q, want %q", out.String(), tt.want)
			}
		})
	}

	var out bytes.Buffer
	p := newProgress(&out, "T: %s", false)
	if p.transferHandler() != nil {
		t.Fatal("got a transfer handler when not on a terminal")
	}

	p.terminal = true
	p.width = func() int { return 10 }
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.now = func() time.Time { return clock }
	handler := p.transferHandler()
	clock = clock.Add(99 * time.Millisecond)
	handler(10, 100)
	if out.Len() != 0 {
		t.Fatalf("got %q, want no redraw in the first 100ms", out.String())
	}

	clock = clock.Add(11 * time.Millisecond)
	handler(50, 100)
	if !strings.HasPrefix(out.String(), "\rT: 50% (") || len(out.String()) != 10 {
		t.Fatalf("got %q, want a 50%% update cut to the terminal width", out.String())
	}
}

func TestByteSize(t *testing.T) {
	tests := map[int64]string{0: "0B", 999: "999B", 1000: "1.00kB", 12345678: "12.35MB", 54660000: "54.66MB",
		3 << 40: "3.30TB"}
	keys := make([]int64, 0, len(tests))
	for k := range tests {
		keys = append(keys, k)
	}

	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		got := byteSize(k)
		if got != tests[k] {
			t.Errorf("byteSize(%d): got %q, want %q", k, got, tests[k])
		}
	}
}

// mustLoadConfig loads the configuration in dir.
func mustLoadConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	return conf
}
