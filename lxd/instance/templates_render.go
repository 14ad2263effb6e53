package instance

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/template/tplctx"
)

// tplInstance builds the parts of the template context that describe the instance.
func tplInstance(inst *db.Instance, config map[string]string, devices map[string]map[string]string) tplctx.Context {
	return tplctx.Context{
		Instance: tplctx.Instance{
			Name:         project.InstanceName(inst.Name),
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
func (m *Manager) applyTemplates(name string, trigger string, tctx tplctx.Context, rootUID int, rootGID int) error {
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

		src, ok := saved.Sources[tpl.Template]
		if !ok {
			return fmt.Errorf("template %q for %s is missing", tpl.Template, target)
		}

		ctx := tctx
		ctx.Trigger = trigger
		ctx.Path = target
		ctx.Properties = tpl.Properties
		var buf bytes.Buffer
		err = m.render(&buf, tpl.Template, src, ctx)
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
