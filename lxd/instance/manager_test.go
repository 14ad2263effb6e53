package instance

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/template"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeDriver runs nothing: it records starts and stops.
type fakeDriver struct {
	mu      sync.Mutex
	running map[string]chan struct{}
	specs   map[string]Spec
}

func newFakeDriver() *fakeDriver {
	return &fakeDriver{running: map[string]chan struct{}{}, specs: map[string]Spec{}}
}

func (f *fakeDriver) Start(ctx context.Context, spec Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[spec.Name] = make(chan struct{})
	f.specs[spec.Name] = spec
	return nil
}

func (f *fakeDriver) stop(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.running[name]
	if ok {
		close(ch)
		delete(f.running, name)
	}
}

func (f *fakeDriver) Shutdown(ctx context.Context, name string, timeout time.Duration) error {
	f.stop(name)
	return nil
}

func (f *fakeDriver) Kill(ctx context.Context, name string) error {
	f.stop(name)
	return nil
}

func (f *fakeDriver) Freeze(name string) error   { return nil }
func (f *fakeDriver) Unfreeze(name string) error { return nil }

func (f *fakeDriver) Status(name string) api.StatusCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.running[name]
	if ok {
		return api.Running
	}

	return api.Stopped
}

func (f *fakeDriver) State(name string) RuntimeState {
	return RuntimeState{Status: f.Status(name)}
}

func (f *fakeDriver) WaitExit(name string) (<-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.running[name]
	if !ok {
		return nil, errors.New("not running")
	}

	return ch, nil
}

func (f *fakeDriver) Exec(name string, spec ExecSpec) (int, error) { return -1, errors.New("no exec") }

func (f *fakeDriver) OpenPty(name string) (*os.File, *os.File, error) {
	return nil, nil, errors.New("no pty")
}

func (f *fakeDriver) Cleanup(name string) error { return nil }

// testImage builds a unified image whose hostname template is tpl.
func testImage(t *testing.T, tpl string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name, body string
		dir        bool
	}{
		{name: "metadata.yaml", body: "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: test\n" +
			"templates:\n  /etc/hostname:\n    when: [create, rename]\n    template: hostname.tpl\n"},
		{name: "templates/", dir: true},
		{name: "templates/hostname.tpl", body: tpl},
		{name: "rootfs/", dir: true},
		{name: "rootfs/etc/", dir: true},
		{name: "rootfs/etc/hostname", body: "image\n"},
	}

	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		if f.dir {
			hdr = &tar.Header{Name: f.name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(1700000000, 0)}
		}

		err := tw.WriteHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}

		_, err = tw.Write([]byte(f.body))
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

// testManager returns a manager on temporary directories with a fake driver.
func testManager(t *testing.T) (*Manager, *fakeDriver) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: overlay mounts and id shifting need root")
	}

	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = d.Close() })
	store, err := images.NewStore(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}

	pool, err := storage.NewDirPool("default", filepath.Join(dir, "pool"))
	if err != nil {
		t.Fatal(err)
	}

	drv := newFakeDriver()
	m := NewManager(ManagerArgs{DB: d, Images: store, Pool: pool, Driver: drv, LogDir: filepath.Join(dir, "logs"),
		IDMap: &IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}, Render: template.Render})
	err = m.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	return m, drv
}

// addImage imports an image into the manager's store and database under alias.
func addImage(t *testing.T, m *Manager, data []byte, alias string) string {
	t.Helper()
	ctx := context.Background()
	p, err := m.images.ImportUnified(ctx, bytes.NewReader(data), images.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}

	err = p.Commit()
	if err != nil {
		t.Fatal(err)
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateImage(ctx, db.Image{Fingerprint: p.Fingerprint, Size: p.Size, Architecture: "x86_64",
			Type: "container", UploadedAt: time.Now(), Properties: map[string]string{"os": "test"}})
		if err != nil {
			return err
		}

		_, err = tx.CreateImageAlias(ctx, db.ImageAlias{Name: alias, Target: p.Fingerprint})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	return p.Fingerprint
}

func TestManagerLifecycle(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	fp := addImage(t, m, testImage(t, "{{ container.name }}\n"), "img")

	img, err := m.ResolveImage(ctx, "default", "img", "")
	if err != nil || img.Fingerprint != fp {
		t.Fatalf("got %v %v, want image %s", img, err, fp)
	}

	img, err = m.ResolveImage(ctx, "default", "", fp[:12])
	if err != nil || img.Fingerprint != fp {
		t.Fatalf("got %v %v by prefix, want image %s", img, err, fp)
	}

	args := CreateArgs{Name: "c1", Profiles: []string{"default"}, Image: img}
	err = m.ValidateCreate(ctx, &args)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Create(ctx, args, nil)
	if err != nil {
		t.Fatal(err)
	}

	inst, err := m.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	if inst.Config[KeyBaseImage] != fp || inst.Config["image.os"] != "test" || inst.Config[KeyUUID] == "" {
		t.Fatalf("got config %v, want the base image, image properties and a uuid", inst.Config)
	}

	upper := filepath.Join(m.pool.ContainerPath("c1"), "upper", "etc", "hostname")
	data, err := os.ReadFile(upper)
	if err != nil || string(data) != "c1\n" {
		t.Fatalf("got %q %v, want the create template's output in the upper layer", data, err)
	}

	if m.pool.IsMounted("c1") {
		t.Fatal("a created instance stays mounted")
	}

	err = m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	spec := drv.specs["c1"]
	if spec.IDMap == nil || spec.Rootfs != m.pool.ContainerRootfs("c1") || !m.pool.IsMounted("c1") {
		t.Fatalf("got spec %+v (mounted %v), want an unprivileged start on the mounted root", spec, m.pool.IsMounted("c1"))
	}

	err = m.Start(ctx, "c1")
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("got %v, want already running", err)
	}

	err = m.Delete(ctx, "c1")
	if err == nil {
		t.Fatal("deleted a running instance")
	}

	err = m.Stop(ctx, "c1", time.Second, false)
	if err != nil {
		t.Fatal(err)
	}

	if m.pool.IsMounted("c1") {
		t.Fatal("a stopped instance stays mounted")
	}

	err = m.Rename(ctx, "c1", "c2")
	if err != nil {
		t.Fatal(err)
	}

	data, _ = os.ReadFile(filepath.Join(m.pool.ContainerPath("c2"), "upper", "etc", "hostname"))
	if string(data) != "c2\n" {
		t.Fatalf("got hostname %q after rename, want c2", data)
	}

	err = m.Delete(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}

	_, err = os.Stat(m.pool.ContainerPath("c2"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want the storage gone", err)
	}

	bases, _ := m.pool.Bases()
	if len(bases) != 1 {
		t.Fatalf("got bases %v, want the shifted base kept while the image exists", bases)
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error { return tx.DeleteImage(ctx, fp) })
	if err != nil {
		t.Fatal(err)
	}

	err = m.PruneBases(ctx)
	if err != nil {
		t.Fatal(err)
	}

	bases, _ = m.pool.Bases()
	if len(bases) != 0 {
		t.Fatalf("got bases %v, want none once the image is gone", bases)
	}
}

func TestManagerCreateFailureLeavesNothing(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := createFromTestImage(t, m, "c1", "ok\n{% if %}\n")
	if err == nil || !strings.Contains(err.Error(), `template "hostname.tpl": line 2`) {
		t.Fatalf("got %v, want the template's name and line", err)
	}

	_, err = m.Get(ctx, "c1")
	if httpStatus(t, err) != 404 {
		t.Fatalf("got %v, want no instance row", err)
	}

	_, err = os.Stat(m.pool.ContainerPath("c1"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want no storage", err)
	}

	if m.pool.IsMounted("c1") {
		t.Fatal("a failed create left a mount")
	}
}

func TestManagerValidateCreate(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	tests := []struct {
		name string
		args CreateArgs
		code int
	}{
		{"bad name", CreateArgs{Name: "1bad", Profiles: []string{"default"}}, 400},
		{"unknown key", CreateArgs{Name: "c1", Profiles: []string{"default"}, Config: map[string]string{"x.y": "1"}}, 400},
		{"unknown profile", CreateArgs{Name: "c1", Profiles: []string{"nope"}}, 404},
		{"no root disk", CreateArgs{Name: "c1", Profiles: []string{}}, 400},
		{"other pool", CreateArgs{Name: "c1", Profiles: []string{}, Devices: map[string]map[string]string{
			"root": {"type": "disk", "path": "/", "pool": "fast"}}}, 404},
		{"profile twice", CreateArgs{Name: "c1", Profiles: []string{"default", "default"}}, 400},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.ValidateCreate(ctx, &tt.args)
			if err == nil {
				t.Fatal("got no error")
			}

			if httpStatus(t, err) != tt.code {
				t.Fatalf("got %v, want HTTP %d", err, tt.code)
			}
		})
	}
}

// TestManagerRendersPendingTemplatesAtStart: a creation cut short before its templates were rendered (the key
// volatile.apply_template still set) renders them at the next start, once.
func TestManagerRendersPendingTemplatesAtStart(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	err := createFromTestImage(t, m, "c1", "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	inst, err := m.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	_, pending := inst.Config[KeyApplyTemplate]
	if pending {
		t.Fatalf("got %s=%q after a complete creation, want it cleared", KeyApplyTemplate, inst.Config[KeyApplyTemplate])
	}

	// As if the daemon had died between laying out the storage and rendering the templates.
	upper := filepath.Join(m.pool.ContainerPath("c1"), "upper", "etc", "hostname")
	err = os.Remove(upper)
	if err != nil {
		t.Fatal(err)
	}

	m.setVolatile(ctx, "c1", map[string]string{KeyApplyTemplate: "create"})

	err = m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(upper)
	if err != nil || string(data) != "c1\n" {
		t.Fatalf("got %q %v, want the create template rendered at start", data, err)
	}

	inst, err = m.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	_, pending = inst.Config[KeyApplyTemplate]
	if pending {
		t.Fatalf("got %s still set after the start rendered it", KeyApplyTemplate)
	}

	drv.stop("c1")
	m.waitRunDone("c1")
}
