package instance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// ValidTemplateName checks a template file name given to the API: a single path element, not "." or "..", with
// no NUL byte and not hidden (the daemon keeps its temporary files as hidden ones).
func ValidTemplateName(name string) error {
	switch {
	case name == "":
		return errs.Invalid("the template name is missing")
	case name == "." || name == "..", strings.ContainsAny(name, "/\\\x00"), strings.HasPrefix(name, "."):
		return errs.Invalid("invalid template name %q: it must be a single file name", name)
	case len(name) > 255:
		return errs.Invalid("invalid template name %q: too long", name)
	}

	return nil
}

// Metadata returns an instance's metadata.yaml; an instance without one has empty metadata.
func (m *Manager) Metadata(ctx context.Context, name string) (*api.ImageMetadata, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	unlock := m.lock(name)
	defer unlock()
	err = m.convertLegacyTemplates(inst)
	if err != nil {
		return nil, err
	}

	data, err := os.ReadFile(filepath.Join(m.pool.ContainerPath(name), metadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &api.ImageMetadata{Properties: map[string]string{}, Templates: map[string]*api.ImageMetadataTemplate{}}, nil
	}

	if err != nil {
		return nil, err
	}

	meta, err := images.ParseMetadata(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %q: %w", name, err)
	}

	out := &api.ImageMetadata{
		Architecture: meta.Architecture,
		CreationDate: meta.CreationDate,
		ExpiryDate:   meta.ExpiryDate,
		Properties:   meta.Properties,
		Templates:    map[string]*api.ImageMetadataTemplate{},
	}

	if out.Properties == nil {
		out.Properties = map[string]string{}
	}

	for target, tpl := range meta.Templates {
		out.Templates[target] = &api.ImageMetadataTemplate{
			When:       tpl.When,
			CreateOnly: tpl.CreateOnly,
			Template:   tpl.Template,
			Properties: tpl.Properties,
		}
	}

	return out, nil
}

// UpdateMetadata replaces an instance's metadata.yaml, validated as an image's is.
func (m *Manager) UpdateMetadata(ctx context.Context, name string, md api.ImageMetadata) error {
	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	meta := &images.Metadata{
		Architecture: md.Architecture,
		CreationDate: md.CreationDate,
		ExpiryDate:   md.ExpiryDate,
		Properties:   md.Properties,
		Templates:    map[string]*images.Template{},
	}

	for target, tpl := range md.Templates {
		if tpl == nil {
			meta.Templates[target] = nil
			continue
		}

		meta.Templates[target] = &images.Template{
			When:       tpl.When,
			CreateOnly: tpl.CreateOnly,
			Template:   tpl.Template,
			Properties: tpl.Properties,
		}
	}

	err = meta.Validate()
	if err != nil {
		return errs.Invalid("%s", err.Error())
	}

	unlock := m.lock(name)
	defer unlock()
	err = m.convertLegacyTemplates(inst)
	if err != nil {
		return err
	}

	return writeMetadataFile(m.pool.ContainerPath(name), meta)
}

// templatesRoot opens an instance's templates directory, creating it when create is set.
func (m *Manager) templatesRoot(ctx context.Context, name string, create bool) (*os.Root, func(), error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, nil, err
	}

	unlock := m.lock(name)
	err = m.convertLegacyTemplates(inst)
	if err != nil {
		unlock()
		return nil, nil, err
	}

	dir := m.pool.ContainerPath(name)
	if create {
		err = os.Mkdir(filepath.Join(dir, templatesDir), 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			unlock()
			return nil, nil, err
		}
	}

	root, err := openTemplatesRoot(dir)
	if err != nil {
		unlock()
		return nil, nil, err
	}

	return root, func() { _ = root.Close(); unlock() }, nil
}

// TemplateNames lists the template files of an instance.
func (m *Manager) TemplateNames(ctx context.Context, name string) ([]string, error) {
	root, done, err := m.templatesRoot(ctx, name, false)
	if errors.Is(err, fs.ErrNotExist) {
		err = m.Exists(ctx, name)
		if err != nil {
			return nil, err
		}

		return []string{}, nil
	}

	if err != nil {
		return nil, err
	}

	defer done()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, err
	}

	names := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}

	return names, nil
}

// TemplateFile returns the content of one template file of an instance.
func (m *Manager) TemplateFile(ctx context.Context, name string, file string) ([]byte, error) {
	err := ValidTemplateName(file)
	if err != nil {
		return nil, err
	}

	root, done, err := m.templatesRoot(ctx, name, false)
	if errors.Is(err, fs.ErrNotExist) {
		err = m.Exists(ctx, name)
		if err != nil {
			return nil, err
		}

		return nil, errs.NotFound("template %q not found", file)
	}

	if err != nil {
		return nil, err
	}

	defer done()
	data, err := readTemplateFile(root, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.NotFound("template %q not found", file)
	}

	return data, err
}

// WriteTemplateFile creates or replaces one template file of an instance. A symlink in its place is replaced,
// never followed.
func (m *Manager) WriteTemplateFile(ctx context.Context, name string, file string, data []byte) error {
	err := ValidTemplateName(file)
	if err != nil {
		return err
	}

	if len(data) > maxTemplateFile {
		return errs.Invalid("template %q is larger than 1 MiB", file)
	}

	root, done, err := m.templatesRoot(ctx, name, true)
	if err != nil {
		return err
	}

	defer done()
	info, err := root.Lstat(file)
	if err == nil && info.IsDir() {
		return errs.Invalid("template %q is a directory", file)
	}

	return replaceInRoot(root, file, data)
}

// DeleteTemplateFile removes one template file of an instance.
func (m *Manager) DeleteTemplateFile(ctx context.Context, name string, file string) error {
	err := ValidTemplateName(file)
	if err != nil {
		return err
	}

	root, done, err := m.templatesRoot(ctx, name, false)
	if errors.Is(err, fs.ErrNotExist) {
		err = m.Exists(ctx, name)
		if err != nil {
			return err
		}

		return errs.NotFound("template %q not found", file)
	}

	if err != nil {
		return err
	}

	defer done()
	info, err := root.Lstat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return errs.NotFound("template %q not found", file)
	}

	if err != nil {
		return err
	}

	if info.IsDir() {
		return errs.Invalid("template %q is a directory", file)
	}

	return root.Remove(file)
}
