package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/simplestreams"
)

// runSimplestreamsCmd runs one "lxc simplestreams" invocation against the configuration in dir.
func runSimplestreamsCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdSimplestreams{global: global}).command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"simplestreams"}, args...))
	err = root.Execute()
	return out.String(), err
}

// ssFakeImage is an image of the fake server with the files it exports.
func ssFakeImage(seed string, public bool, split bool, imageType string) *fakeImage {
	f := &fakeImage{}
	var sum [32]byte
	if split {
		f.meta = bytes.Repeat([]byte("meta "+seed), 200)
		f.rootfs = bytes.Repeat([]byte("rootfs "+seed), 500)
		sum = sha256.Sum256(append(append([]byte{}, f.meta...), f.rootfs...))
	} else {
		f.unified = bytes.Repeat([]byte("unified "+seed), 500)
		sum = sha256.Sum256(f.unified)
	}

	f.Image = api.Image{Fingerprint: hex.EncodeToString(sum[:]), Architecture: "x86_64", Type: imageType,
		CreatedAt: time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC),
		ImagePut:  api.ImagePut{Public: public, Properties: map[string]string{"os": "Busybox", "release": seed}},
		Aliases:   []api.ImageAlias{{Name: "alias-" + seed}}}
	return f
}

func TestSimplestreamsExport(t *testing.T) {
	s, conf := newFakeImageServer(t)
	unified := ssFakeImage("u", true, false, "container")
	split := ssFakeImage("s", true, true, "container")
	private := ssFakeImage("p", false, false, "container")
	vm := ssFakeImage("v", true, false, "virtual-machine")
	s.mu.Lock()
	s.images = []*fakeImage{unified, split, private, vm}
	s.mu.Unlock()

	tree := filepath.Join(t.TempDir(), "tree")
	s.resetLog()
	out, err := runSimplestreamsCmd(t, conf, "export", "local:", tree)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}

	if !strings.Contains(out, "Exported 2 images: 2 downloaded, 0 unchanged, 0 removed") {
		t.Fatalf("got output %q", out)
	}

	data, err := os.ReadFile(filepath.Join(tree, simplestreams.ProductsPath))
	if err != nil {
		t.Fatal(err)
	}

	products, err := simplestreams.ParseProducts(data)
	if err != nil {
		t.Fatal(err)
	}

	images, aliases := products.Images("x86_64")
	got := map[string]simplestreams.Image{}
	for _, img := range images {
		got[img.Fingerprint] = img
	}

	if len(got) != 2 || got[unified.Fingerprint].Rootfs != nil || got[split.Fingerprint].Rootfs == nil {
		t.Fatalf("images of the tree: got %+v", images)
	}

	wantFiles := map[string][]byte{
		got[unified.Fingerprint].Meta.Path: unified.unified,
		got[split.Fingerprint].Meta.Path:   split.meta,
		got[split.Fingerprint].Rootfs.Path: split.rootfs,
	}

	for p, want := range wantFiles {
		content, err := os.ReadFile(filepath.Join(tree, p))
		if err != nil || !bytes.Equal(content, want) {
			t.Fatalf("file %s: %v, content differs: %v", p, err, !bytes.Equal(content, want))
		}
	}

	if len(aliases) == 0 || aliases[0].Name == "" {
		t.Fatalf("aliases of the tree: got %v", aliases)
	}

	// Nothing is downloaded again; a removed image goes, and the default remote is used with one argument.
	s.mu.Lock()
	s.images = []*fakeImage{split, private}
	s.mu.Unlock()
	s.resetLog()
	out, err = runSimplestreamsCmd(t, conf, "export", tree)
	if err != nil {
		t.Fatalf("second export: %v\n%s", err, out)
	}

	if !strings.Contains(out, "Exported 1 images: 0 downloaded, 1 unchanged, 1 removed") {
		t.Fatalf("got output %q", out)
	}

	for _, line := range s.log() {
		if strings.HasSuffix(line, "/export") {
			t.Fatalf("an unchanged image was downloaded again: %v", s.log())
		}
	}

	_, err = os.Stat(filepath.Join(tree, "images", unified.Fingerprint))
	if !os.IsNotExist(err) {
		t.Fatalf("removed image still in the tree: %v", err)
	}
}

func TestSimplestreamsExportArgs(t *testing.T) {
	_, conf := newFakeImageServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"export", "local:bb", t.TempDir()}, "usage"},
		{[]string{"export", "nope:", t.TempDir()}, "doesn't exist"},
	}

	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runSimplestreamsCmd(t, conf, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
