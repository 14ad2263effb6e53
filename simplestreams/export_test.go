package simplestreams

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// fakeImage is an image of a fake server: its files and the names the server gives them.
type fakeImage struct {
	img      api.Image
	meta     []byte
	rootfs   []byte
	metaName string
	rootName string
}

func newFakeImage(seed string, split bool, squashfs bool, aliases ...string) fakeImage {
	meta := []byte(strings.Repeat("meta "+seed+"\n", 100))
	var rootfs []byte
	if split {
		rootfs = []byte(strings.Repeat("rootfs "+seed+"\n", 300))
		if squashfs {
			rootfs = append([]byte("hsqs"), rootfs...)
		}
	}

	sum := sha256.Sum256(append(append([]byte{}, meta...), rootfs...))
	fp := hex.EncodeToString(sum[:])
	f := fakeImage{meta: meta, rootfs: rootfs, metaName: fp + ".tar.xz"}
	if split {
		f.metaName = "meta-" + fp + ".tar.xz"
		f.rootName = fp + ".tar.gz"
		if squashfs {
			f.rootName = fp + ".squashfs"
		}
	}

	f.img = api.Image{Fingerprint: fp, Architecture: "x86_64", Type: "container",
		CreatedAt: time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC),
		ImagePut:  api.ImagePut{Public: true, Properties: map[string]string{"os": "Busybox", "release": seed}}}
	for _, a := range aliases {
		f.img.Aliases = append(f.img.Aliases, api.ImageAlias{Name: a})
	}

	return f
}

// fakeServer serves fake images to Export and counts the downloads.
type fakeServer struct {
	images  map[string]fakeImage
	fetched []string
	fail    map[string]error
	corrupt map[string]bool
}

func newFakeServer(images ...fakeImage) *fakeServer {
	s := &fakeServer{images: map[string]fakeImage{}, fail: map[string]error{}, corrupt: map[string]bool{}}
	for _, f := range images {
		s.images[f.img.Fingerprint] = f
	}

	return s
}

func (s *fakeServer) fetch(img api.Image, meta io.Writer, rootfs io.Writer) (string, string, error) {
	s.fetched = append(s.fetched, img.Fingerprint)
	f := s.images[img.Fingerprint]
	_, err := meta.Write(f.meta)
	if err != nil {
		return "", "", err
	}

	err = s.fail[img.Fingerprint]
	if err != nil {
		return "", "", err
	}

	data := f.rootfs
	if s.corrupt[img.Fingerprint] {
		data = append(append([]byte{}, data...), 'x')
	}

	_, err = rootfs.Write(data)
	if err != nil {
		return "", "", err
	}

	return f.metaName, f.rootName, nil
}

// readTree parses the tree in dir back, as a client would, and checks each listed file's size and sha256.
func readTree(t *testing.T, dir string) map[string]Image {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, IndexPath))
	if err != nil {
		t.Fatal(err)
	}

	index, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}

	streams := index.ImageStreams()
	if len(streams) > 1 || (len(streams) == 1 && streams[0] != ProductsPath) {
		t.Fatalf("index streams: got %v, want [%s]", streams, ProductsPath)
	}

	data, err = os.ReadFile(filepath.Join(dir, ProductsPath))
	if err != nil {
		t.Fatal(err)
	}

	products, err := ParseProducts(data)
	if err != nil {
		t.Fatal(err)
	}

	images, _ := products.Images("x86_64")
	out := map[string]Image{}
	for _, img := range images {
		out[img.Fingerprint] = img
		combined := sha256.New()
		files := []File{img.Meta}
		if img.Rootfs != nil {
			files = append(files, *img.Rootfs)
		}

		for _, f := range files {
			content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Fatalf("file of %s: %v", img.Fingerprint, err)
			}

			sum := sha256.Sum256(content)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(content)) != f.Size {
				t.Fatalf("file %s: listed sha256 %s size %d, has %x size %d", f.Path, f.SHA256, f.Size, sum, len(content))
			}

			combined.Write(content)
		}

		got := hex.EncodeToString(combined.Sum(nil))
		if got != img.Fingerprint {
			t.Fatalf("fingerprint of %s: got %s", img.Fingerprint, got)
		}
	}

	return out
}

// temporaries lists what an export left behind that a web server should not see.
func temporaries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}

		if strings.HasPrefix(d.Name(), tmpPrefix) {
			out = append(out, p)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return out
}

func apiImages(images ...fakeImage) []api.Image {
	out := make([]api.Image, 0, len(images))
	for _, f := range images {
		out = append(out, f.img)
	}

	return out
}

func sortedFPs(images ...fakeImage) []string {
	out := make([]string, 0, len(images))
	for _, f := range images {
		out = append(out, f.img.Fingerprint)
	}

	sort.Strings(out)
	return out
}

func TestExportLayout(t *testing.T) {
	unified := newFakeImage("u", false, false, "bbu")
	split := newFakeImage("s", true, false, "bbs")
	squash := newFakeImage("q", true, true, "bbq")
	srv := newFakeServer(unified, split, squash)
	dir := t.TempDir()
	res, err := Export(dir, apiImages(unified, split, squash), srv.fetch)
	if err != nil {
		t.Fatal(err)
	}

	want := sortedFPs(unified, split, squash)
	if !reflect.DeepEqual(res.Fetched, want) {
		t.Fatalf("fetched: got %v, want %v", res.Fetched, want)
	}

	got := readTree(t, dir)
	tests := []struct {
		name     string
		f        fakeImage
		rootfs   string
		fileType string
	}{
		{"unified", unified, "", "tar.gz"},
		{"split", split, split.rootName, "root.tar.xz"},
		{"squashfs", squash, squash.rootName, "squashfs"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, ok := got[tt.f.img.Fingerprint]
			if !ok {
				t.Fatalf("image %s missing from the tree", tt.f.img.Fingerprint)
			}

			if img.Properties["type"] != tt.fileType {
				t.Fatalf("type: got %q, want %q", img.Properties["type"], tt.fileType)
			}

			want := ItemPath(tt.f.img.Fingerprint, tt.f.metaName)
			if img.Meta.Path != want {
				t.Fatalf("meta path: got %s, want %s", img.Meta.Path, want)
			}

			if (img.Rootfs == nil) != (tt.rootfs == "") {
				t.Fatalf("rootfs: got %+v, want %q", img.Rootfs, tt.rootfs)
			}

			if len(img.Aliases) == 0 || img.Aliases[0].Name != tt.f.img.Aliases[0].Name {
				t.Fatalf("aliases: got %v, want %v", img.Aliases, tt.f.img.Aliases)
			}
		})
	}

	tmp := temporaries(t, dir)
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}

	info, err := os.Stat(filepath.Join(dir, IndexPath))
	if err != nil {
		t.Fatal(err)
	}

	if info.Mode().Perm() != 0o644 {
		t.Fatalf("index mode: got %v, want 0644", info.Mode().Perm())
	}
}

// mtimes returns the modification time of every file under dir/images.
func mtimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(filepath.Join(dir, "images"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}

		info, err := d.Info()
		if err != nil {
			return err
		}

		out[p] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return out
}

// ageFiles sets the modification time of every file under dir/images an hour back.
func ageFiles(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for p := range mtimes(t, dir) {
		err := os.Chtimes(p, old, old)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestExportIncremental(t *testing.T) {
	a := newFakeImage("a", false, false, "a")
	b := newFakeImage("b", true, true, "b")
	c := newFakeImage("c", true, false, "c")
	d := newFakeImage("d", false, false)

	tests := []struct {
		name    string
		second  []fakeImage
		damage  func(t *testing.T, dir string)
		fetched []fakeImage
		kept    []fakeImage
		pruned  []fakeImage
	}{
		{name: "unchanged", second: []fakeImage{a, b}, kept: []fakeImage{a, b}},
		{name: "one removed, one added", second: []fakeImage{b, c}, fetched: []fakeImage{c}, kept: []fakeImage{b},
			pruned: []fakeImage{a}},
		{name: "everything replaced", second: []fakeImage{c, d}, fetched: []fakeImage{c, d}, pruned: []fakeImage{a, b}},
		{name: "nothing left", second: nil, pruned: []fakeImage{a, b}},
		{name: "aliases changed", second: []fakeImage{newFakeImage("a", false, false, "renamed"), b},
			kept: []fakeImage{a, b}},
		{name: "truncated file fetched again", second: []fakeImage{a, b}, fetched: []fakeImage{b}, kept: []fakeImage{a},
			damage: func(t *testing.T, dir string) {
				err := os.Truncate(filepath.Join(dir, "images", b.img.Fingerprint, b.rootName), 10)
				if err != nil {
					t.Fatal(err)
				}
			}},
		{name: "missing file fetched again", second: []fakeImage{a, b}, fetched: []fakeImage{a}, kept: []fakeImage{b},
			damage: func(t *testing.T, dir string) {
				err := os.Remove(filepath.Join(dir, "images", a.img.Fingerprint, a.metaName))
				if err != nil {
					t.Fatal(err)
				}
			}},
		{name: "leftovers of a crash removed", second: []fakeImage{a, b}, kept: []fakeImage{a, b},
			damage: func(t *testing.T, dir string) {
				for _, p := range []string{"images/" + tmpPrefix + "123/meta", "streams/v1/" + tmpPrefix + "456"} {
					p = filepath.Join(dir, filepath.FromSlash(p))
					_ = os.MkdirAll(filepath.Dir(p), 0o755)
					err := os.WriteFile(p, []byte("partial"), 0o644)
					if err != nil {
						t.Fatal(err)
					}
				}
			}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(a, b, c, d)
			dir := t.TempDir()
			_, err := Export(dir, apiImages(a, b), srv.fetch)
			if err != nil {
				t.Fatal(err)
			}

			// Something that is not an image directory is not the export's to remove.
			err = os.WriteFile(filepath.Join(dir, "images", "README"), []byte("mine"), 0o644)
			if err != nil {
				t.Fatal(err)
			}

			ageFiles(t, dir)
			before := mtimes(t, dir)
			if tt.damage != nil {
				tt.damage(t, dir)
			}

			srv.fetched = nil
			res, err := Export(dir, apiImages(tt.second...), srv.fetch)
			if err != nil {
				t.Fatal(err)
			}

			for _, check := range []struct {
				what      string
				got, want []string
			}{
				{"fetched", res.Fetched, sortedFPs(tt.fetched...)},
				{"kept", res.Kept, sortedFPs(tt.kept...)},
				{"pruned", res.Pruned, sortedFPs(tt.pruned...)},
			} {
				if len(check.got) == 0 && len(check.want) == 0 {
					continue
				}

				if !reflect.DeepEqual(check.got, check.want) {
					t.Fatalf("%s: got %v, want %v", check.what, check.got, check.want)
				}
			}

			if len(srv.fetched) != len(tt.fetched) {
				t.Fatalf("downloads: got %d, want %d", len(srv.fetched), len(tt.fetched))
			}

			tree := readTree(t, dir)
			if len(tree) != len(tt.second) {
				t.Fatalf("images in the tree: got %d, want %d", len(tree), len(tt.second))
			}

			for _, f := range tt.second {
				img, ok := tree[f.img.Fingerprint]
				if !ok {
					t.Fatalf("image %s missing from the tree", f.img.Fingerprint)
				}

				if len(f.img.Aliases) > 0 && (len(img.Aliases) == 0 || img.Aliases[0].Name != f.img.Aliases[0].Name) {
					t.Fatalf("aliases of %s: got %v, want %v", f.img.Fingerprint, img.Aliases, f.img.Aliases)
				}
			}

			for _, f := range tt.pruned {
				_, err := os.Stat(filepath.Join(dir, "images", f.img.Fingerprint))
				if !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("pruned image %s still there: %v", f.img.Fingerprint, err)
				}
			}

			after := mtimes(t, dir)
			for _, f := range tt.kept {
				prefix := filepath.Join(dir, "images", f.img.Fingerprint) + string(filepath.Separator)
				for p, mt := range after {
					if strings.HasPrefix(p, prefix) && !mt.Equal(before[p]) {
						t.Fatalf("kept file %s rewritten: mtime %v, was %v", p, mt, before[p])
					}
				}
			}

			_, ok := after[filepath.Join(dir, "images", "README")]
			if !ok {
				t.Fatal("a file that is not an image directory was removed")
			}

			tmp := temporaries(t, dir)
			if len(tmp) != 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestExportFailureKeepsTree(t *testing.T) {
	a := newFakeImage("a", true, false, "a")
	b := newFakeImage("b", true, true, "b")

	tests := []struct {
		name  string
		setup func(s *fakeServer)
		want  string
	}{
		{"download error", func(s *fakeServer) { s.fail[b.img.Fingerprint] = errors.New("connection reset") },
			"connection reset"},
		{"fingerprint mismatch", func(s *fakeServer) { s.corrupt[b.img.Fingerprint] = true }, "fingerprint"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(a, b)
			dir := t.TempDir()
			_, err := Export(dir, apiImages(a), srv.fetch)
			if err != nil {
				t.Fatal(err)
			}

			var docs [][]byte
			for _, p := range []string{IndexPath, ProductsPath} {
				data, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}

				docs = append(docs, data)
			}

			tt.setup(srv)
			_, err = Export(dir, apiImages(b), srv.fetch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}

			for i, p := range []string{IndexPath, ProductsPath} {
				data, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}

				if !bytes.Equal(data, docs[i]) {
					t.Fatalf("%s changed by a failed export", p)
				}
			}

			tree := readTree(t, dir)
			_, ok := tree[a.img.Fingerprint]
			if !ok || len(tree) != 1 {
				t.Fatalf("tree after a failed export: got %v, want only %s", tree, a.img.Fingerprint)
			}

			_, err = os.Stat(filepath.Join(dir, "images", b.img.Fingerprint))
			if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("files of the failed image: %v", err)
			}

			tmp := temporaries(t, dir)
			if len(tmp) != 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestExportFileNames(t *testing.T) {
	tests := []struct {
		metaName string
		rootName string
		wantMeta string
		wantRoot string
	}{
		{"meta.tar.xz", "root.squashfs", "meta.tar.xz", "root.squashfs"},
		{"meta.tar.xz", "root.tar.xz", "meta.tar.xz", "root.tar.xz.squashfs"},
		{"../../etc/passwd", "a/b/rootfs.img", "passwd", "rootfs.img.squashfs"},
		{".hidden", "..", "meta", "rootfs.squashfs"},
		{"", "", "meta", "rootfs.squashfs"},
		{"same", "same", "same", "same.squashfs"},
		{"x.squashfs", "x.squashfs", "x.squashfs", "rootfs-x.squashfs"},
	}

	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFakeImage("n", true, true)
			f.metaName, f.rootName = tt.metaName, tt.rootName
			srv := newFakeServer(f)
			dir := t.TempDir()
			_, err := Export(dir, apiImages(f), srv.fetch)
			if err != nil {
				t.Fatal(err)
			}

			img := readTree(t, dir)[f.img.Fingerprint]
			if img.Meta.Path != ItemPath(f.img.Fingerprint, tt.wantMeta) {
				t.Fatalf("meta path: got %s, want %s", img.Meta.Path, ItemPath(f.img.Fingerprint, tt.wantMeta))
			}

			if img.Rootfs == nil || img.Rootfs.Path != ItemPath(f.img.Fingerprint, tt.wantRoot) {
				t.Fatalf("rootfs: got %+v, want %s", img.Rootfs, tt.wantRoot)
			}
		})
	}
}

func TestExportRefusesBadFingerprint(t *testing.T) {
	img := api.Image{Fingerprint: "../../x"}
	_, err := Export(t.TempDir(), []api.Image{img}, func(api.Image, io.Writer, io.Writer) (string, string, error) {
		t.Fatal("fetch called for an invalid fingerprint")
		return "", "", nil
	})
	if err == nil {
		t.Fatal("got no error for an invalid fingerprint")
	}
}

func TestExportOneAtATime(t *testing.T) {
	a := newFakeImage("a", false, false)
	srv := newFakeServer(a)
	dir := t.TempDir()
	var inner error
	fetch := func(img api.Image, meta io.Writer, rootfs io.Writer) (string, string, error) {
		// A second export while the first one downloads is refused, and leaves the first one's files alone.
		_, inner = Export(dir, apiImages(a), srv.fetch)
		return srv.fetch(img, meta, rootfs)
	}

	_, err := Export(dir, apiImages(a), fetch)
	if err != nil {
		t.Fatal(err)
	}

	if inner == nil || !strings.Contains(inner.Error(), "another export") {
		t.Fatalf("concurrent export: got %v, want it refused", inner)
	}

	_, ok := readTree(t, dir)[a.img.Fingerprint]
	if !ok {
		t.Fatal("the first export did not complete")
	}
}
