package instance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/template"
	"github.com/lxd-go/lxd/lxd/template/tplctx"
)

// templateManager returns a manager over a pool holding one plain (no base) container c1 with the given templates.
func templateManager(t *testing.T, tpls map[string]*images.Template, sources map[string]string) (*Manager, string) {
	t.Helper()
	pool, err := storage.NewDirPool("default", filepath.Join(t.TempDir(), "pool"))
	if err != nil {
		t.Fatal(err)
	}

	err = pool.CreateContainer("c1", "", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}

	saved := savedTemplates{Templates: tpls, Sources: map[string][]byte{}}
	for k, v := range sources {
		saved.Sources[k] = []byte(v)
	}

	data, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(pool.ContainerPath("c1"), templatesFile), data, 0o600)
	if err != nil {
		t.Fatal(err)
	}

	return &Manager{pool: storage.NewPools(pool), render: template.Render}, pool.ContainerRootfs("c1")
}

func TestApplyTemplates(t *testing.T) {
	tpls := map[string]*images.Template{
		"/etc/hostname": {When: []string{"create", "rename"}, Template: "hostname.tpl"},
		"/etc/motd":     {When: []string{"start"}, Template: "motd.tpl", Properties: map[string]string{"greeting": "hi"}},
		"/etc/once":     {When: []string{"start"}, Template: "once.tpl", CreateOnly: true},
		"/new/dir/file": {When: []string{"create"}, Template: "hostname.tpl"},
	}

	sources := map[string]string{
		"hostname.tpl": "{{ container.name }}\n",
		"motd.tpl":     "{{ properties.greeting }} {{ trigger }} {{ path }} {{ config_get(\"user.x\", \"none\") }}\n",
		"once.tpl":     "first\n",
	}

	ctx := tplctx.Context{Instance: tplctx.Instance{Name: "c1"}, Config: map[string]string{}}
	tests := []struct {
		name    string
		trigger string
		setup   func(t *testing.T, rootfs string)
		want    map[string]string
	}{
		{"create", "create", nil, map[string]string{"etc/hostname": "c1\n", "new/dir/file": "c1\n"}},
		{"start", "start", nil, map[string]string{"etc/motd": "hi start /etc/motd none\n", "etc/once": "first\n"}},
		{"create only keeps the file", "start", func(t *testing.T, rootfs string) {
			writeFile(t, filepath.Join(rootfs, "etc", "once"), "kept\n")
		}, map[string]string{"etc/once": "kept\n"}},
		{"a symlink is replaced, not followed", "create", func(t *testing.T, rootfs string) {
			outside := filepath.Join(t.TempDir(), "outside")
			writeFile(t, outside, "host file\n")
			err := os.Symlink(outside, filepath.Join(rootfs, "etc", "hostname"))
			if err != nil {
				t.Fatal(err)
			}

			t.Cleanup(func() {
				data, _ := os.ReadFile(outside)
				if string(data) != "host file\n" {
					t.Errorf("the host file was changed through a symlink: %q", data)
				}
			})
		}, map[string]string{"etc/hostname": "c1\n"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rootfs := templateManager(t, tpls, sources)
			err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
			if err != nil {
				t.Fatal(err)
			}

			if tt.setup != nil {
				tt.setup(t, rootfs)
			}

			err = m.applyTemplates("c1", tt.trigger, ctx, os.Getuid(), os.Getgid())
			if err != nil {
				t.Fatal(err)
			}

			for rel, want := range tt.want {
				info, err := os.Lstat(filepath.Join(rootfs, rel))
				if err != nil || !info.Mode().IsRegular() {
					t.Fatalf("%s: got %v %v, want a regular file", rel, info, err)
				}

				data, _ := os.ReadFile(filepath.Join(rootfs, rel))
				if string(data) != want {
					t.Fatalf("%s: got %q, want %q", rel, data, want)
				}
			}
		})
	}
}

func TestApplyTemplatesRefusesEscapes(t *testing.T) {
	tpls := map[string]*images.Template{"/etc/hostname": {When: []string{"create"}, Template: "h.tpl"}}
	m, rootfs := templateManager(t, tpls, map[string]string{"h.tpl": "x\n"})
	outside := t.TempDir()
	err := os.Symlink(outside, filepath.Join(rootfs, "etc"))
	if err != nil {
		t.Fatal(err)
	}

	err = m.applyTemplates("c1", "create", tplctx.Context{}, os.Getuid(), os.Getgid())
	if err == nil {
		t.Fatal("got no error writing through a directory symlink leading out of the rootfs")
	}

	_, statErr := os.Stat(filepath.Join(outside, "hostname"))
	if !os.IsNotExist(statErr) {
		t.Fatalf("a file was written outside the rootfs: %v", statErr)
	}
}

func TestApplyTemplatesBroken(t *testing.T) {
	tpls := map[string]*images.Template{"/etc/hostname": {When: []string{"create"}, Template: "h.tpl"}}
	m, rootfs := templateManager(t, tpls, map[string]string{"h.tpl": "ok\n{{ container.name \n"})
	err := m.applyTemplates("c1", "create", tplctx.Context{}, os.Getuid(), os.Getgid())
	if err == nil || !strings.Contains(err.Error(), `template "h.tpl": line 2`) {
		t.Fatalf("got %v, want an error naming the template and line 2", err)
	}

	_, statErr := os.Stat(filepath.Join(rootfs, "etc", "hostname"))
	if !os.IsNotExist(statErr) {
		t.Fatalf("a broken template left a file: %v", statErr)
	}
}

func TestNewManagerRequiresRender(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "Render") {
			t.Fatalf("got %v, want a panic naming Render", r)
		}
	}()

	NewManager(ManagerArgs{})
}

func writeFile(t *testing.T, path string, content string) {
	t.Helper()
	err := os.WriteFile(path, []byte(content), 0o644)
	if err != nil {
		t.Fatal(err)
	}
}
