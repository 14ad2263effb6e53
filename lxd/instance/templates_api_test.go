package instance

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

func TestValidTemplateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"hostname.tpl", true},
		{"a-b_c.1", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/b", false},
		{"/etc/passwd", false},
		{`a\b`, false},
		{".hidden", false},
		{"x\x00y", false},
		{string(make([]byte, 256)), false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidTemplateName(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}

			if err != nil && httpStatus(t, err) != http.StatusBadRequest {
				t.Fatalf("got %v, want a 400 error", err)
			}
		})
	}
}

// metadataManager returns a manager with one instance c1 created from the test image.
func metadataManager(t *testing.T) *Manager {
	t.Helper()
	m, _ := testManager(t)
	createFromTestImage(t, m, "c1", "{{ container.name }}\n")
	return m
}

// createFromTestImage adds the test image with the given hostname template, if not there yet, and creates the
// instance name from it; it returns Create's error.
func createFromTestImage(t *testing.T, m *Manager, name string, tpl string) error {
	t.Helper()
	ctx := context.Background()
	alias := fmt.Sprintf("img-%x", sha256.Sum256([]byte(tpl)))
	img, err := m.ResolveImage(ctx, "default", alias, "")
	if err != nil {
		addImage(t, m, testImage(t, tpl), alias)
		img, err = m.ResolveImage(ctx, "default", alias, "")
		if err != nil {
			t.Fatal(err)
		}
	}

	args := CreateArgs{Name: name, Profiles: []string{"default"}, Image: img}
	err = m.ValidateCreate(ctx, &args)
	if err != nil {
		t.Fatal(err)
	}

	return m.Create(ctx, args, nil)
}

func TestInstanceMetadata(t *testing.T) {
	m := metadataManager(t)
	ctx := context.Background()

	md, err := m.Metadata(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	tpl := md.Templates["/etc/hostname"]
	if md.Architecture != "x86_64" || md.CreationDate != 1700000000 || md.Properties["os"] != "test" || tpl == nil ||
		tpl.Template != "hostname.tpl" {
		t.Fatalf("got %+v, want the image's metadata", md)
	}

	names, err := m.TemplateNames(ctx, "c1")
	if err != nil || !slices.Equal(names, []string{"hostname.tpl"}) {
		t.Fatalf("got %v %v, want [hostname.tpl]", names, err)
	}

	// A new template, added to the metadata, renders at the next start.
	err = m.WriteTemplateFile(ctx, "c1", "motd.tpl", []byte("hi {{ container.name }} {{ trigger }}\n"))
	if err != nil {
		t.Fatal(err)
	}

	md.Templates["/etc/motd"] = &api.ImageMetadataTemplate{When: []string{"start"}, Template: "motd.tpl"}
	err = m.UpdateMetadata(ctx, "c1", *md)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = m.Stop(ctx, "c1", time.Second, true) })

	data, err := os.ReadFile(filepath.Join(m.pool.ContainerPath("c1"), "upper", "etc", "motd"))
	if err != nil || string(data) != "hi c1 start\n" {
		t.Fatalf("got %q %v, want the start template rendered", data, err)
	}

	got, err := m.TemplateFile(ctx, "c1", "motd.tpl")
	if err != nil || string(got) != "hi {{ container.name }} {{ trigger }}\n" {
		t.Fatalf("got %q %v, want the template source", got, err)
	}

	err = m.DeleteTemplateFile(ctx, "c1", "motd.tpl")
	if err != nil {
		t.Fatal(err)
	}

	_, err = m.TemplateFile(ctx, "c1", "motd.tpl")
	if httpStatus(t, err) != http.StatusNotFound {
		t.Fatalf("got %v, want 404 after delete", err)
	}

	err = m.DeleteTemplateFile(ctx, "c1", "motd.tpl")
	if httpStatus(t, err) != http.StatusNotFound {
		t.Fatalf("got %v, want 404 for a second delete", err)
	}

	_, err = m.Metadata(ctx, "nope")
	if err == nil {
		t.Fatal("got metadata for an unknown instance")
	}
}

func TestInstanceMetadataValidation(t *testing.T) {
	m := metadataManager(t)
	ctx := context.Background()
	good := api.ImageMetadata{Architecture: "amd64", CreationDate: 1}
	tests := []struct {
		name   string
		change func(md *api.ImageMetadata)
		ok     bool
	}{
		{"valid", func(md *api.ImageMetadata) {}, true},
		{"no architecture", func(md *api.ImageMetadata) { md.Architecture = "" }, false},
		{"unknown architecture", func(md *api.ImageMetadata) { md.Architecture = "z80" }, false},
		{"no creation date", func(md *api.ImageMetadata) { md.CreationDate = 0 }, false},
		{"relative target", func(md *api.ImageMetadata) {
			md.Templates = map[string]*api.ImageMetadataTemplate{"etc/x": {Template: "x.tpl"}}
		}, false},
		{"escaping template", func(md *api.ImageMetadata) {
			md.Templates = map[string]*api.ImageMetadataTemplate{"/etc/x": {Template: "../x.tpl"}}
		}, false},
		{"unknown trigger", func(md *api.ImageMetadata) {
			md.Templates = map[string]*api.ImageMetadataTemplate{"/etc/x": {Template: "x.tpl", When: []string{"boot"}}}
		}, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := good
			tt.change(&md)
			err := m.UpdateMetadata(ctx, "c1", md)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}

			if err != nil && httpStatus(t, err) != http.StatusBadRequest {
				t.Fatalf("got %v, want a 400 error", err)
			}
		})
	}

	md, err := m.Metadata(ctx, "c1")
	if err != nil || md.Architecture != "x86_64" {
		t.Fatalf("got %+v %v, want the canonical architecture of the valid update", md, err)
	}
}

func TestTemplateFilesRefuseEscapes(t *testing.T) {
	m := metadataManager(t)
	ctx := context.Background()
	dir := m.pool.ContainerPath("c1")
	outside := filepath.Join(t.TempDir(), "outside")
	writeFile(t, outside, "host file\n")

	for _, name := range []string{"../x", "a/b", "..", "/etc/passwd", "../../outside"} {
		err := m.WriteTemplateFile(ctx, "c1", name, []byte("x"))
		if httpStatus(t, err) != http.StatusBadRequest {
			t.Fatalf("write %q: got %v, want a 400 error", name, err)
		}

		_, err = m.TemplateFile(ctx, "c1", name)
		if httpStatus(t, err) != http.StatusBadRequest {
			t.Fatalf("read %q: got %v, want a 400 error", name, err)
		}
	}

	_, err := os.Stat(filepath.Join(dir, "x"))
	if err == nil {
		t.Fatal("a write escaped the templates directory")
	}

	// A symlink planted in the templates directory is neither read nor written through.
	err = os.Symlink(outside, filepath.Join(dir, "templates", "evil"))
	if err != nil {
		t.Fatal(err)
	}

	_, err = m.TemplateFile(ctx, "c1", "evil")
	if err == nil {
		t.Fatal("read a template through a symlink")
	}

	names, err := m.TemplateNames(ctx, "c1")
	if err != nil || slices.Contains(names, "evil") {
		t.Fatalf("got %v %v, want the symlink left out", names, err)
	}

	err = m.WriteTemplateFile(ctx, "c1", "evil", []byte("written\n"))
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(outside)
	if err != nil || string(data) != "host file\n" {
		t.Fatalf("got %q %v, want the outside file untouched", data, err)
	}

	// A templates directory replaced by a symlink to the outside is refused.
	err = os.RemoveAll(filepath.Join(dir, "templates"))
	if err != nil {
		t.Fatal(err)
	}

	err = os.Symlink(filepath.Dir(outside), filepath.Join(dir, "templates"))
	if err != nil {
		t.Fatal(err)
	}

	err = m.WriteTemplateFile(ctx, "c1", "outside", []byte("written\n"))
	if err == nil {
		t.Fatal("wrote through a symlinked templates directory")
	}

	_, err = m.TemplateFile(ctx, "c1", "outside")
	if err == nil {
		t.Fatal("read through a symlinked templates directory")
	}

	data, err = os.ReadFile(outside)
	if err != nil || string(data) != "host file\n" {
		t.Fatalf("got %q %v, want the outside file untouched", data, err)
	}
}

// TestSnapshotsKeepTheirTemplates: a snapshot keeps the metadata and templates of its time; a copy of it gets
// them, a restore brings them back, and a copy of the instance carries them with its snapshots.
func TestSnapshotsKeepTheirTemplates(t *testing.T) {
	m := metadataManager(t)
	ctx := context.Background()
	err := m.CreateSnapshot(ctx, "c1", "s0", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	err = m.WriteTemplateFile(ctx, "c1", "hostname.tpl", []byte("changed\n"))
	if err != nil {
		t.Fatal(err)
	}

	template := func(name string) string {
		t.Helper()
		data, err := m.TemplateFile(ctx, name, "hostname.tpl")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		return string(data)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1/s0", Name: "from-snap"})
	if err != nil {
		t.Fatal(err)
	}

	if got := template("from-snap"); got != "{{ container.name }}\n" {
		t.Fatalf("copy of the snapshot got template %q, want the snapshot's", got)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c1", Name: "with-snaps"})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Copy(ctx, CopyArgs{Source: "with-snaps/s0", Name: "from-copied-snap"})
	if err != nil {
		t.Fatal(err)
	}

	if got := template("from-copied-snap"); got != "{{ container.name }}\n" {
		t.Fatalf("copy of a copied snapshot got template %q, want the snapshot's", got)
	}

	err = m.RestoreSnapshot(ctx, "c1", "s0")
	if err != nil {
		t.Fatal(err)
	}

	if got := template("c1"); got != "{{ container.name }}\n" {
		t.Fatalf("after the restore got template %q, want the snapshot's", got)
	}
}
