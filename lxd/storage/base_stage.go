package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// StagedBase is a base being written under a temporary name (images/.tmp-*) on a pool: filled by an unpack at the
// first launch from an image, or while the image is imported, then published under its base name. A crash leaves
// only the temporary directory, which the pool removes at start (removeUnfinished).
type StagedBase struct {
	p   *Pool
	tmp string

	mu   sync.Mutex
	done bool
}

// StageBase makes an empty staged base: on a pool whose driver is not layered, its rootfs is a fresh volume.
func (p *Pool) StageBase() (*StagedBase, error) {
	tmp, err := os.MkdirTemp(filepath.Join(p.dir, "images"), ".tmp-")
	if err != nil {
		return nil, err
	}

	b := &StagedBase{p: p, tmp: tmp}
	if !p.drv.Layered() {
		err = p.drv.CreateVolume(b.Rootfs())
		if err != nil {
			b.Discard()
			return nil, err
		}
	}

	return b, nil
}

// StageBase makes an empty staged base on a pool (see Pool.StageBase).
func (ps *Pools) StageBase(pool string) (*StagedBase, error) {
	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	return p.StageBase()
}

// Rootfs returns the directory to fill: the base's root filesystem.
func (b *StagedBase) Rootfs() string {
	return filepath.Join(b.tmp, "rootfs")
}

// Dir returns the staged base's directory, where files kept with the base (beside rootfs/) are written.
func (b *StagedBase) Dir() string {
	return b.tmp
}

// Discard removes the staged base; it does nothing once the base is published or discarded.
func (b *StagedBase) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}

	b.done = true
	_ = removeTree(b.tmp)
}

// Publish makes the filled staged base the base named base. When a complete base of that name is in place already
// (a launch unpacked it meanwhile), the staged one is discarded and Publish reports false.
func (b *StagedBase) Publish(base string) (bool, error) {
	err := checkBaseName(base)
	if err != nil {
		b.Discard()
		return false, err
	}

	unlock := b.p.baseLock(base)
	defer unlock()
	if b.p.HasBase(base) {
		b.Discard()
		return false, nil
	}

	return true, b.publishLocked(base)
}

// publishLocked publishes the staged base under the base's lock: read-only, then the completeness file, then the
// rename that gives it its name. On any error the staged base is removed.
func (b *StagedBase) publishLocked(base string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return fmt.Errorf("publishing base %q: the staged base is gone", base)
	}

	b.done = true
	err := b.publish(base)
	if err != nil {
		_ = removeTree(b.tmp)
		return err
	}

	return nil
}

func (b *StagedBase) publish(base string) error {
	p := b.p
	if !p.drv.Layered() {
		err := p.drv.SetReadOnly(b.Rootfs())
		if err != nil {
			return err
		}
	}

	CrashPoint("base-unpacked")
	err := fsutil.WriteFileAtomic(filepath.Join(b.tmp, baseComplete), nil, 0o600)
	if err != nil {
		return err
	}

	err = os.Chmod(b.tmp, 0o700)
	if err != nil {
		return err
	}

	// A directory left under the final name without the completeness file is not a base: out of the way first.
	err = removeEntombed(p.basePath(base), "")
	if err != nil {
		return err
	}

	err = os.Rename(b.tmp, p.basePath(base))
	if err != nil {
		return err
	}

	return fsutil.SyncDir(filepath.Join(p.dir, "images"))
}

// checkBaseName refuses a base name that is not one directory name of its own.
func checkBaseName(base string) error {
	if strings.ContainsAny(base, "/") || base == "" || strings.HasPrefix(base, ".") {
		return fmt.Errorf("invalid base name %q: %w", base, errs.ErrInvalid)
	}

	return nil
}
