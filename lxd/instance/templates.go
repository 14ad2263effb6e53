package instance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/template"
)

// savedTemplates is what an instance keeps of its image's templates, so start templates still render after the
// image is deleted.
type savedTemplates struct {
	Templates map[string]*images.Template `json:"templates"`
	Sources   map[string][]byte           `json:"sources"`
}

const templatesFile = "templates.json"

// saveTemplates copies the image's template definitions and sources next to the instance's storage: from the
// copy kept with the image's base when there is one, otherwise from the image.
func (m *Manager) saveTemplates(ctx context.Context, name string, fp string, base string) error {
	data, err := os.ReadFile(m.baseTemplatesPath(base))
	if errors.Is(err, fs.ErrNotExist) {
		data, err = m.imageTemplates(ctx, fp, nil)
		if err == nil && base != "" {
			// A base unpacked before bases kept their templates gets them now, for the next instance.
			keepErr := writeFileAtomic(m.baseTemplatesPath(base), data)
			if keepErr != nil {
				slog.Warn("failed keeping an image's templates with its base", "base", base, "err", keepErr)
			}
		}
	}

	if err != nil {
		return err
	}

	return os.WriteFile(filepath.Join(m.pool.ContainerPath(name), templatesFile), data, 0o600)
}

// writeFileAtomic writes a file readers see either whole or not at all.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}

	_, err = f.Write(data)
	if err == nil {
		err = f.Close()
	} else {
		_ = f.Close()
	}

	if err == nil {
		err = os.Rename(f.Name(), path)
	}

	if err != nil {
		_ = os.Remove(f.Name())
	}

	return err
}

// baseTemplatesPath is where a base keeps its image's templates: reading them from a unified image means reading
// the whole tarball, which is done once, while unpacking the base.
func (m *Manager) baseTemplatesPath(base string) string {
	return filepath.Join(filepath.Dir(m.pool.BaseRootfs(base)), templatesFile)
}

// imageTemplates encodes an image's templates as an instance keeps them; set, if not nil, is what was read of the
// image already.
func (m *Manager) imageTemplates(ctx context.Context, fp string, set *images.TemplateSet) ([]byte, error) {
	if set == nil {
		set = &images.TemplateSet{}
		var err error
		set.Metadata, set.Files, err = m.images.Templates(ctx, fp)
		if err != nil {
			return nil, fmt.Errorf("reading the templates of image %s: %w", fp, err)
		}
	}

	saved := savedTemplates{Templates: set.Metadata.Templates, Sources: map[string][]byte{}}
	for _, tpl := range set.Metadata.Templates {
		src, ok := set.Files[tpl.Template]
		if !ok {
			return nil, fmt.Errorf("template %q is missing from the image", tpl.Template)
		}

		saved.Sources[tpl.Template] = src
	}

	return json.Marshal(saved)
}

// loadTemplates reads an instance's saved templates; an instance without any has none.
func (m *Manager) loadTemplates(name string) (*savedTemplates, error) {
	data, err := os.ReadFile(filepath.Join(m.pool.ContainerPath(name), templatesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &savedTemplates{}, nil
	}

	if err != nil {
		return nil, err
	}

	var saved savedTemplates
	err = json.Unmarshal(data, &saved)
	if err != nil {
		return nil, fmt.Errorf("reading the templates of %q: %w", name, err)
	}

	return &saved, nil
}

// tplInstance builds the parts of the template context that describe the instance.
func tplInstance(inst *db.Instance, config map[string]string, devices map[string]map[string]string) template.Context {
	return template.Context{
		Instance: template.Instance{
			Name:         inst.Name,
			Architecture: inst.Architecture,
			Privileged:   IsTrue(config["security.privileged"]),
			Ephemeral:    inst.Ephemeral,
		},
		Config:  config,
		Devices: devices,
	}
}

// applyTemplates renders the instance's templates for trigger into its mounted root filesystem. Every file is
// rendered in memory first, then written through an os.Root on the rootfs, so no symlink in the container can make
// the daemon write outside it. Files are owned by the container's root (rootUID:rootGID on the host).
func (m *Manager) applyTemplates(name string, trigger string, tctx template.Context, rootUID int, rootGID int) error {
	saved, err := m.loadTemplates(name)
	if err != nil {
		return err
	}

	targets := make([]string, 0, len(saved.Templates))
	for target, tpl := range saved.Templates {
		if slices.Contains(tpl.When, trigger) {
			targets = append(targets, target)
		}
	}

	if len(targets) == 0 {
		return nil
	}

	sort.Strings(targets)
	base, err := m.pool.ContainerBase(name)
	if err != nil {
		return err
	}

	if base != "" && !m.pool.IsMounted(name) {
		return fmt.Errorf("the root filesystem of %q is not mounted", name)
	}

	root, err := os.OpenRoot(m.pool.ContainerRootfs(name))
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()

	for _, target := range targets {
		tpl := saved.Templates[target]
		rel := strings.TrimPrefix(path.Clean("/"+target), "/")
		if rel == "" {
			return fmt.Errorf("template %q: invalid target %q", tpl.Template, target)
		}

		if tpl.CreateOnly {
			_, err = root.Lstat(rel)
			if err == nil {
				continue
			}
		}

		ctx := tctx
		ctx.Trigger = trigger
		ctx.Path = target
		ctx.Properties = tpl.Properties
		var buf bytes.Buffer
		err = template.Render(&buf, tpl.Template, saved.Sources[tpl.Template], ctx)
		if err != nil {
			return err
		}

		err = writeInRoot(root, rel, buf.Bytes(), rootUID, rootGID)
		if err != nil {
			return fmt.Errorf("template %q: writing %s: %w", tpl.Template, target, err)
		}
	}

	return nil
}

// writeInRoot replaces the file rel under root with data: the old entry (a file or a symlink, never what a symlink
// points to) is removed and the new file created exclusively, mode 0644, owned by uid:gid.
func writeInRoot(root *os.Root, rel string, data []byte, uid int, gid int) error {
	err := mkdirAllOwned(root, path.Dir(rel), uid, gid)
	if err != nil {
		return err
	}

	info, err := root.Lstat(rel)
	if err == nil {
		if info.IsDir() {
			return fmt.Errorf("%s is a directory", rel)
		}

		err = root.Remove(rel)
		if err != nil {
			return err
		}
	}

	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}

	_, err = f.Write(data)
	if err != nil {
		_ = f.Close()
		return err
	}

	err = f.Chown(uid, gid)
	if err != nil {
		_ = f.Close()
		return err
	}

	err = f.Chmod(0o644)
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

// mkdirAllOwned creates the missing directories of dir under root, owned by uid:gid (the container's root).
func mkdirAllOwned(root *os.Root, dir string, uid int, gid int) error {
	if dir == "." || dir == "" {
		return nil
	}

	cur := ""
	for _, part := range strings.Split(dir, "/") {
		cur = path.Join(cur, part)
		_, err := root.Lstat(cur)
		if err == nil {
			continue
		}

		err = root.Mkdir(cur, 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}

		err = root.Lchown(cur, uid, gid)
		if err != nil {
			return err
		}
	}

	return nil
}
