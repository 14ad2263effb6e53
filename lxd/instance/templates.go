package instance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// savedTemplates is what an instance keeps of its image's templates, so start templates still render after the
// image is deleted.
type savedTemplates struct {
	Templates map[string]*images.Template `json:"templates"`
	Sources   map[string][]byte           `json:"sources"`
}

// An instance keeps its metadata.yaml and templates/ next to its root filesystem, as an image does. Instances
// made before that kept a templates.json instead, which is still read, and converted on the first change.
const (
	metadataFile  = "metadata.yaml"
	templatesDir  = "templates"
	templatesFile = "templates.json"
)

// maxTemplateFile is the largest template file accepted through the API.
const maxTemplateFile = 1 << 20

// saveTemplates copies the image's metadata.yaml and template files next to the instance's storage: from the copy
// kept with the image's base when there is one, otherwise from the image.
func (m *Manager) saveTemplates(ctx context.Context, name string, fp string, base string) error {
	meta, sources, err := m.baseTemplates(ctx, fp, base)
	if err != nil {
		return err
	}

	for _, tpl := range meta.Templates {
		_, ok := sources[tpl.Template]
		if !ok {
			return fmt.Errorf("template %q is missing from the image", tpl.Template)
		}
	}

	return m.writeMetadataLayout(name, meta, sources)
}

// writeMetadataLayout writes metadata.yaml and the template files (names relative to templates/) of an instance.
func (m *Manager) writeMetadataLayout(name string, meta *images.Metadata, sources map[string][]byte) error {
	return writeMetadataLayoutIn(m.pool.ContainerPath(name), meta, sources)
}

// writeMetadataLayoutIn writes metadata.yaml and templates/ into the instance or snapshot directory dir.
func writeMetadataLayoutIn(dir string, meta *images.Metadata, sources map[string][]byte) error {
	err := os.Mkdir(filepath.Join(dir, templatesDir), 0o700)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}

	root, err := openTemplatesRoot(dir)
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	for _, file := range slices.Sorted(maps.Keys(sources)) {
		if !filepath.IsLocal(file) {
			return fmt.Errorf("template file name %q is not local", file)
		}

		err = mkdirAllOwned(root, path.Dir(file), os.Getuid(), os.Getgid())
		if err != nil {
			return err
		}

		err = replaceInRoot(root, file, sources[file])
		if err != nil {
			return err
		}
	}

	return writeMetadataFile(dir, meta)
}

// writeMetadataFile replaces the metadata.yaml of the instance directory dir.
func writeMetadataFile(dir string, meta *images.Metadata) error {
	data, err := meta.Marshal()
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(filepath.Join(dir, metadataFile), data, 0o600)
}

// openTemplatesRoot opens the templates directory of the instance directory dir. The directory is opened through
// a root on dir, so a templates entry that is a symlink pointing outside of it is refused.
func openTemplatesRoot(dir string) (*os.Root, error) {
	parent, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}

	defer func() { _ = parent.Close() }()
	info, err := parent.Lstat(templatesDir)
	if err != nil {
		return nil, err
	}

	if !info.IsDir() {
		return nil, fmt.Errorf("the templates directory is not a directory: %w", errs.ErrInvalid)
	}

	return parent.OpenRoot(templatesDir)
}

// readTemplateFile returns the content of the regular file rel under root; symlinks are refused.
func readTemplateFile(root *os.Root, rel string) ([]byte, error) {
	info, err := root.Lstat(rel)
	if err != nil {
		return nil, err
	}

	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("template file %q is not a regular file: %w", rel, errs.ErrInvalid)
	}

	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}

	defer func() { _ = f.Close() }()
	info, err = f.Stat()
	if err != nil {
		return nil, err
	}

	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("template file %q is not a regular file: %w", rel, errs.ErrInvalid)
	}

	if info.Size() > maxTemplateFile {
		return nil, fmt.Errorf("template file %q is larger than 1 MiB: %w", rel, errs.ErrInvalid)
	}

	return io.ReadAll(io.LimitReader(f, maxTemplateFile))
}

// replaceInRoot replaces the file rel under root with data: it is written to a new file and renamed over the old
// entry, so a symlink in its place is replaced and never followed.
func replaceInRoot(root *os.Root, rel string, data []byte) error {
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".tmp")
	_ = root.Remove(tmp)
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}

	_, err = f.Write(data)
	if err != nil {
		_ = f.Close()
		_ = root.Remove(tmp)
		return err
	}

	err = f.Close()
	if err != nil {
		_ = root.Remove(tmp)
		return err
	}

	return root.Rename(tmp, rel)
}

// loadTemplates reads an instance's metadata and template sources; an instance without any has none.
func (m *Manager) loadTemplates(name string) (*savedTemplates, error) {
	return loadTemplatesIn(m.pool.ContainerPath(name))
}

// loadTemplatesIn reads the metadata and template sources of the instance or snapshot directory dir.
func loadTemplatesIn(dir string) (*savedTemplates, error) {
	data, err := os.ReadFile(filepath.Join(dir, metadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return loadLegacyTemplates(dir)
	}

	if err != nil {
		return nil, err
	}

	meta, err := images.ParseMetadata(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %q: %w", dir, err)
	}

	saved := &savedTemplates{Templates: meta.Templates, Sources: map[string][]byte{}}
	root, err := openTemplatesRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return saved, nil
	}

	if err != nil {
		return nil, err
	}

	defer func() { _ = root.Close() }()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}

		src, err := readTemplateFile(root, p)
		if err != nil {
			return err
		}

		saved.Sources[p] = src
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the templates of %q: %w", dir, err)
	}

	return saved, nil
}

// loadLegacyTemplates reads the templates.json of an instance directory, if it has one.
func loadLegacyTemplates(dir string) (*savedTemplates, error) {
	data, err := os.ReadFile(filepath.Join(dir, templatesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &savedTemplates{}, nil
	}

	if err != nil {
		return nil, err
	}

	var saved savedTemplates
	err = json.Unmarshal(data, &saved)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, templatesFile), err)
	}

	return &saved, nil
}

// copyTemplatesIn gives the instance or snapshot directory dstDir the metadata and templates of srcDir.
func copyTemplatesIn(srcDir string, dstDir string) error {
	_, err := os.Stat(filepath.Join(srcDir, metadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		data, err := os.ReadFile(filepath.Join(srcDir, templatesFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}

		if err != nil {
			return err
		}

		return os.WriteFile(filepath.Join(dstDir, templatesFile), data, 0o600)
	}

	if err != nil {
		return err
	}

	data, err := os.ReadFile(filepath.Join(srcDir, metadataFile))
	if err != nil {
		return err
	}

	meta, err := images.ParseMetadata(bytes.NewReader(data))
	if err != nil {
		return err
	}

	saved, err := loadTemplatesIn(srcDir)
	if err != nil {
		return err
	}

	return writeMetadataLayoutIn(dstDir, meta, saved.Sources)
}

// hasTemplates reports whether an instance or snapshot directory keeps metadata of its own.
func hasTemplates(dir string) bool {
	for _, name := range []string{metadataFile, templatesFile} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if err == nil {
			return true
		}
	}

	return false
}

// templatesSource is the directory holding the metadata and templates of an instance, or of one of its
// snapshots; a snapshot taken before snapshots kept them has its instance's.
func (m *Manager) templatesSource(name string, snap string) string {
	if snap != "" && hasTemplates(m.pool.SnapshotPath(name, snap)) {
		return m.pool.SnapshotPath(name, snap)
	}

	return m.pool.ContainerPath(name)
}

// convertLegacyTemplates moves an instance from templates.json to metadata.yaml and templates/, so the metadata
// API can change it.
func (m *Manager) convertLegacyTemplates(inst *db.Instance) error {
	dir := m.pool.ContainerPath(inst.Name)
	_, err := os.Stat(filepath.Join(dir, metadataFile))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	saved, err := loadLegacyTemplates(dir)
	if err != nil {
		return err
	}

	if len(saved.Templates) == 0 {
		return nil
	}

	meta := &images.Metadata{Architecture: inst.Architecture, CreationDate: inst.CreatedAt.Unix(), Templates: saved.Templates}
	err = m.writeMetadataLayout(inst.Name, meta, saved.Sources)
	if err != nil {
		return err
	}

	return os.Remove(filepath.Join(dir, templatesFile))
}

// baseTemplateSet is what a base keeps of its image's templates: reading them from a unified image means reading
// the whole tarball, which is done once, while unpacking the base.
type baseTemplateSet struct {
	Metadata []byte            `json:"metadata"`
	Files    map[string][]byte `json:"files"`
}

// baseTemplatesPath is where a base keeps its image's templates.
func (m *Manager) baseTemplatesPath(base string) string {
	return filepath.Join(filepath.Dir(m.pool.BaseRootfs(base)), templatesFile)
}

// keepBaseTemplates writes the templates of an image into the base directory dir.
func keepBaseTemplates(dir string, set *images.TemplateSet) error {
	meta, err := set.Metadata.Marshal()
	if err != nil {
		return err
	}

	data, err := json.Marshal(baseTemplateSet{Metadata: meta, Files: set.Files})
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(filepath.Join(dir, templatesFile), data, 0o600)
}

// baseTemplates returns the metadata and template files of image fp: from its base when the base kept them,
// otherwise from the image, and then kept with the base (made before bases kept them) for the next instance.
func (m *Manager) baseTemplates(ctx context.Context, fp string, base string) (*images.Metadata, map[string][]byte, error) {
	if base != "" {
		data, err := os.ReadFile(m.baseTemplatesPath(base))
		if err == nil {
			var kept baseTemplateSet
			var meta *images.Metadata
			err = json.Unmarshal(data, &kept)
			if err == nil {
				meta, err = images.ParseMetadata(bytes.NewReader(kept.Metadata))
				if err == nil {
					return meta, kept.Files, nil
				}
			}

			slog.Warn("ignoring the unreadable templates kept with a base", "base", base, "err", err)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}

	meta, files, err := m.images.Templates(ctx, fp)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the templates of image %s: %w", fp, err)
	}

	if base != "" {
		err = keepBaseTemplates(filepath.Dir(m.baseTemplatesPath(base)), &images.TemplateSet{Metadata: meta, Files: files})
		if err != nil {
			slog.Warn("failed keeping an image's templates with its base", "base", base, "err", err)
		}
	}

	return meta, files, nil
}
