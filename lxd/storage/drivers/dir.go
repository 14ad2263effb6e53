package drivers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/lxd-go/lxd/lxd/errs"
)

// dir keeps volumes as plain directories: containers are overlays on their image base.
type dir struct {
	// pool is the pool this driver mounted (nil before Mount); its Warn hook reports unenforced sizes.
	pool *Pool

	// warnOnce records the warning of an unenforced size once per pool and daemon run.
	warnOnce sync.Once
}

func (d *dir) Name() string    { return "dir" }
func (d *dir) Version() string { return "1" }
func (d *dir) Layered() bool   { return true }

func (d *dir) Validate(config map[string]string, creating bool) error {
	err := checkKeys(config)
	if err != nil {
		return err
	}

	src := config["source"]
	if src != "" && !filepath.IsAbs(src) {
		return errs.Invalid("source %q is not an absolute path", src)
	}

	return nil
}

// source is the directory holding the pool: source= or the pool's mount path.
func (d *dir) source(p *Pool) string {
	if p.Config["source"] != "" {
		return filepath.Clean(p.Config["source"])
	}

	return p.MountPath
}

func (d *dir) Create(p *Pool) error {
	src := d.source(p)
	st, err := os.Stat(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = os.MkdirAll(src, 0o711)
		if err != nil {
			return wrapf(err, "creating %s", src)
		}
	case err != nil:
		return err
	case !st.IsDir():
		return errs.Invalid("source %q is not a directory", src)
	default:
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}

		if len(entries) > 0 {
			return errs.Invalid("source %q is not empty", src)
		}
	}

	p.Config["source"] = src
	return nil
}

func (d *dir) Mount(p *Pool) (string, error) {
	src := d.source(p)
	if src == p.MountPath {
		// The daemon's own directory: made again if missing, as at the first start.
		err := os.MkdirAll(src, 0o711)
		if err != nil {
			return "", err
		}
	}

	st, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("pool %q: %w", p.Name, err)
	}

	if !st.IsDir() {
		return "", fmt.Errorf("pool %q: source %s is not a directory", p.Name, src)
	}

	d.pool = p
	return src, nil
}

func (d *dir) Unmount(p *Pool) error { return nil }

func (d *dir) Update(p *Pool, old map[string]string) error { return nil }

// Delete removes the source directory, left empty by the removal of the volumes.
func (d *dir) Delete(p *Pool) error {
	err := os.Remove(d.source(p))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrapf(err, "removing pool %q", p.Name)
	}

	return nil
}

func (d *dir) CreateVolume(path string) error { return os.Mkdir(path, 0o755) }

func (d *dir) Snapshot(src string, dst string, readOnly bool) (bool, error) { return false, nil }

func (d *dir) SetReadOnly(path string) error { return nil }
