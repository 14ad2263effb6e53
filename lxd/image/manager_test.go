package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// testEnv is a manager over a database and a store in a temporary directory.
type testEnv struct {
	m      *Manager
	db     *db.DB
	store  *images.Store
	pruned atomic.Int32
}

func newTestEnv(t *testing.T, cfg map[string]string) *testEnv {
	t.Helper()
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

	env := &testEnv{db: d, store: store}
	conf := config.New(cfg)
	env.m = NewManager(ManagerArgs{
		DB:     d,
		Store:  store,
		Config: func() *config.Config { return conf },
		PruneBases: func(ctx context.Context) error {
			env.pruned.Add(1)
			return nil
		},
	})

	return env
}

// testImage returns a small valid unified image; os makes its fingerprint differ from other test images.
func testImage(t *testing.T, osName string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	meta := "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: " + osName + "\n"
	for _, hdr := range []*tar.Header{
		{Name: "metadata.yaml", Mode: 0o644, Size: int64(len(meta)), Typeflag: tar.TypeReg},
		{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir},
	} {
		hdr.ModTime = time.Unix(1700000000, 0)
		err := tw.WriteHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}

		if hdr.Typeflag == tar.TypeReg {
			_, err = tw.Write([]byte(meta))
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	err := tw.Close()
	if err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

// add imports and stores a test image.
func (e *testEnv) add(t *testing.T, osName string, args StoreArgs) (*db.Image, error) {
	t.Helper()
	pending, err := e.store.ImportUnified(context.Background(), bytes.NewReader(testImage(t, osName)), images.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}

	return e.m.Store(context.Background(), pending, args)
}

func (e *testEnv) mustAdd(t *testing.T, osName string, args StoreArgs) *db.Image {
	t.Helper()
	img, err := e.add(t, osName, args)
	if err != nil {
		t.Fatalf("storing image %s: %v", osName, err)
	}

	return img
}

// fingerprints lists the images recorded in the database.
func (e *testEnv) fingerprints(t *testing.T) []string {
	t.Helper()
	imgs, err := e.m.List(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}

	var out []string
	for _, img := range imgs {
		out = append(out, img.Fingerprint)
	}

	slices.Sort(out)
	return out
}

// files lists the entries of the store directory, .tmp left out.
func (e *testEnv) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.store.Dir())
	if err != nil {
		t.Fatal(err)
	}

	var out []string
	for _, entry := range entries {
		if entry.Name() != ".tmp" {
			out = append(out, entry.Name())
		}
	}

	slices.Sort(out)
	return out
}

func TestStoreRecordsImageAndAliases(t *testing.T) {
	e := newTestEnv(t, nil)
	img := e.mustAdd(t, "one", StoreArgs{Filename: "one.tar", Properties: map[string]string{"os": "override", "k": "v"},
		Aliases: []api.ImageAlias{{Name: "one", Description: "first"}}})

	got, err := e.m.Get(context.Background(), img.Fingerprint[:12])
	if err != nil {
		t.Fatal(err)
	}

	if got.Filename != "one.tar" || got.Properties["os"] != "override" || got.Properties["k"] != "v" {
		t.Fatalf("got image %+v, want the file name and the properties of the request", got)
	}

	if len(got.Aliases) != 1 || got.Aliases[0].Name != "one" {
		t.Fatalf("got aliases %+v, want [one]", got.Aliases)
	}

	if !slices.Equal(e.files(t), []string{img.Fingerprint}) {
		t.Fatalf("got store files %v, want [%s]", e.files(t), img.Fingerprint)
	}
}

// A commit whose aliases cannot be recorded is undone whole: no row, no files.
func TestStoreRevertsOnAliasConflict(t *testing.T) {
	e := newTestEnv(t, nil)
	first := e.mustAdd(t, "one", StoreArgs{Aliases: []api.ImageAlias{{Name: "taken"}}})

	_, err := e.add(t, "two", StoreArgs{Aliases: []api.ImageAlias{{Name: "fresh"}, {Name: "taken"}}})
	if !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), `alias "taken" already exists`) {
		t.Fatalf("got %v, want a conflict on alias \"taken\"", err)
	}

	if !slices.Equal(e.fingerprints(t), []string{first.Fingerprint}) {
		t.Fatalf("got images %v, want only %s", e.fingerprints(t), first.Fingerprint)
	}

	if !slices.Equal(e.files(t), []string{first.Fingerprint}) {
		t.Fatalf("got store files %v, want only %s", e.files(t), first.Fingerprint)
	}

	_, _, err = e.m.Alias(context.Background(), "fresh")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v for the alias of the undone image, want not found", err)
	}
}

func TestDeleteCallsPruneHook(t *testing.T) {
	e := newTestEnv(t, nil)
	img := e.mustAdd(t, "one", StoreArgs{})

	err := e.m.Delete(context.Background(), img.Fingerprint, nil)
	if err != nil {
		t.Fatal(err)
	}

	if e.pruned.Load() != 1 {
		t.Fatalf("prune hook called %d times, want 1", e.pruned.Load())
	}

	if len(e.fingerprints(t)) != 0 || len(e.files(t)) != 0 {
		t.Fatalf("got images %v and files %v after the delete, want none", e.fingerprints(t), e.files(t))
	}

	_, err = e.m.Get(context.Background(), img.Fingerprint)
	if !errors.Is(err, errs.ErrNotFound) || err.Error() != "image not found" {
		t.Fatalf("got %v, want \"image not found\"", err)
	}
}

// Cached images unused for images.remote_cache_expiry days go; recent ones and images not cached stay.
func TestPruneCachedImages(t *testing.T) {
	e := newTestEnv(t, map[string]string{config.RemoteCacheExpiry: "10"})
	ctx := context.Background()
	old := e.mustAdd(t, "old", StoreArgs{})
	recent := e.mustAdd(t, "recent", StoreArgs{})
	kept := e.mustAdd(t, "kept", StoreArgs{})
	now := time.Now().UTC()

	err := e.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		for _, fp := range []string{old.Fingerprint, recent.Fingerprint} {
			err := tx.UpdateImageCached(ctx, fp, true)
			if err != nil {
				return err
			}
		}

		err := tx.UpdateImageLastUse(ctx, old.Fingerprint, now.Add(-11*24*time.Hour))
		if err != nil {
			return err
		}

		err = tx.UpdateImageLastUse(ctx, recent.Fingerprint, now.Add(-9*24*time.Hour))
		if err != nil {
			return err
		}

		// Not cached: never pruned, however old.
		return tx.UpdateImageLastUse(ctx, kept.Fingerprint, now.Add(-100*24*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}

	deleted, err := e.m.Prune(ctx, now)
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(deleted, []string{old.Fingerprint}) {
		t.Fatalf("pruned %v, want [%s]", deleted, old.Fingerprint)
	}

	want := []string{recent.Fingerprint, kept.Fingerprint}
	slices.Sort(want)
	if !slices.Equal(e.fingerprints(t), want) || !slices.Equal(e.files(t), want) {
		t.Fatalf("got images %v and files %v, want %v", e.fingerprints(t), e.files(t), want)
	}

	if e.pruned.Load() != 1 {
		t.Fatalf("prune hook called %d times, want 1", e.pruned.Load())
	}
}

func TestPruneDisabledByZeroExpiry(t *testing.T) {
	e := newTestEnv(t, map[string]string{config.RemoteCacheExpiry: "0"})
	ctx := context.Background()
	img := e.mustAdd(t, "old", StoreArgs{})
	err := e.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.UpdateImageCached(ctx, img.Fingerprint, true)
		if err != nil {
			return err
		}

		return tx.UpdateImageLastUse(ctx, img.Fingerprint, time.Now().Add(-1000*24*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}

	deleted, err := e.m.Prune(ctx, time.Now())
	if err != nil || len(deleted) != 0 {
		t.Fatalf("got %v, %v, want nothing pruned", deleted, err)
	}
}

// MarkUsed moves last_use_date, which keeps a cached image from expiring.
func TestMarkUsedKeepsCachedImage(t *testing.T) {
	e := newTestEnv(t, map[string]string{config.RemoteCacheExpiry: "1"})
	ctx := context.Background()
	img := e.mustAdd(t, "used", StoreArgs{})
	err := e.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.UpdateImageCached(ctx, img.Fingerprint, true)
		if err != nil {
			return err
		}

		return tx.UpdateImageLastUse(ctx, img.Fingerprint, time.Now().Add(-48*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}

	e.m.MarkUsed(ctx, img.Fingerprint)
	deleted, err := e.m.Prune(ctx, time.Now())
	if err != nil || len(deleted) != 0 {
		t.Fatalf("got %v, %v, want the image just used kept", deleted, err)
	}
}

// Init removes image files that no row records and what interrupted imports left, and keeps recorded images.
func TestInitRemovesOrphanFiles(t *testing.T) {
	e := newTestEnv(t, nil)
	img := e.mustAdd(t, "kept", StoreArgs{})
	orphan := strings.Repeat("ab", 32)
	for _, name := range []string{orphan, orphan + ".rootfs", ".tmp/upload-leftover"} {
		err := os.WriteFile(filepath.Join(e.store.Dir(), name), []byte("x"), 0o600)
		if err != nil {
			t.Fatal(err)
		}
	}

	err := e.m.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(e.files(t), []string{img.Fingerprint}) {
		t.Fatalf("got store files %v, want only %s", e.files(t), img.Fingerprint)
	}

	tmp, err := os.ReadDir(filepath.Join(e.store.Dir(), ".tmp"))
	if err != nil || len(tmp) != 0 {
		t.Fatalf("got %v, %v in .tmp, want it empty", tmp, err)
	}
}

func TestAliases(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	one := e.mustAdd(t, "one", StoreArgs{})
	two := e.mustAdd(t, "two", StoreArgs{})

	err := e.m.CreateAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: "a", ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: one.Fingerprint[:8]}}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		err  error
		want error
		msg  string
	}{
		{"duplicate", e.m.CreateAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: "a", ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: two.Fingerprint}}}),
			errs.ErrConflict, `alias "a" already exists`},
		{"bad name", e.m.CreateAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: "a:b", ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: two.Fingerprint}}}),
			errs.ErrInvalid, `invalid character ':' in alias name "a:b"`},
		{"missing target", e.m.CreateAlias(ctx, api.ImageAliasesPost{ImageAliasesEntry: api.ImageAliasesEntry{Name: "b", ImageAliasesEntryPut: api.ImageAliasesEntryPut{Target: "ffff"}}}),
			errs.ErrNotFound, `image "ffff" not found`},
		{"empty target", e.m.UpdateAlias(ctx, "a", api.ImageAliasesEntryPut{}), errs.ErrInvalid, "alias target must not be empty"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) || tt.err.Error() != tt.msg {
				t.Fatalf("got %v, want %q of class %v", tt.err, tt.msg, tt.want)
			}
		})
	}

	err = e.m.UpdateAlias(ctx, "a", api.ImageAliasesEntryPut{Target: two.Fingerprint, Description: "moved"})
	if err != nil {
		t.Fatal(err)
	}

	err = e.m.RenameAlias(ctx, "a", "b")
	if err != nil {
		t.Fatal(err)
	}

	alias, img, err := e.m.Alias(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}

	if alias.Target != two.Fingerprint || alias.Description != "moved" || img.Fingerprint != two.Fingerprint {
		t.Fatalf("got alias %+v on image %s, want it on %s", alias, img.Fingerprint, two.Fingerprint)
	}

	err = e.m.DeleteAlias(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = e.m.Alias(ctx, "b")
	if !errors.Is(err, errs.ErrNotFound) || err.Error() != "image alias not found" {
		t.Fatalf("got %v, want \"image alias not found\"", err)
	}
}

func TestCheckRemoteSource(t *testing.T) {
	tests := []struct {
		src  api.InstanceSource
		want string
	}{
		{api.InstanceSource{Server: "https://images.example", Alias: "a"}, ""},
		{api.InstanceSource{Server: "https://images.example", Fingerprint: "abc", Protocol: "simplestreams"}, ""},
		{api.InstanceSource{Server: "ftp://images.example", Alias: "a"}, `invalid image server "ftp://images.example"`},
		{api.InstanceSource{Server: "https://images.example", Alias: "a", Protocol: "docker"}, `unsupported image server protocol "docker"`},
		{api.InstanceSource{Server: "https://images.example", Alias: "a", Protocol: "oci"}, ""},
		{api.InstanceSource{Server: "https://images.example", Alias: "a", Mode: "push"}, `image source mode "push" is not supported (use pull)`},
		{api.InstanceSource{Server: "https://images.example"}, "the image source needs an alias or a fingerprint"},
	}

	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			err := CheckRemoteSource(tt.src)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}

				return
			}

			if !errors.Is(err, errs.ErrInvalid) || err.Error() != tt.want {
				t.Fatalf("got %v, want %q of class invalid", err, tt.want)
			}
		})
	}
}

// AutoUpdate runs through the task runner only when an image is due, and skips images not pulled by an alias.
func TestAutoUpdateSkipsImagesWithoutSource(t *testing.T) {
	e := newTestEnv(t, nil)
	ran := 0
	e.m.runTask = func(ctx context.Context, description string, fn func(ctx context.Context, progress Progress) error) error {
		ran++
		return fn(ctx, nil)
	}

	e.mustAdd(t, "local", StoreArgs{AutoUpdate: true})
	err := e.m.AutoUpdate(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if ran != 0 {
		t.Fatalf("the task ran %d times, want 0: no image has a source", ran)
	}
}
