package instance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// SeedRefresh puts a copy of the root filesystem of the stopped instance name at dst (which must not exist), so that
// a refresh received into it transfers only the files that changed (container_incremental_copy). The received
// files arrive owned as the source has them on disk (from, nil when unshifted): when that is this instance's own
// map, the copy is made of hard links (the receiver replaces a changed file by a new one and leaves the old one
// alone), otherwise of new files, which the receiver gives the source's owners before RefreshReceived shifts them.
// A failure leaves nothing at dst.
func (m *Manager) SeedRefresh(ctx context.Context, name string, from []IDMapEntry, dst string) error {
	inst, err := m.Get(ctx, name)
	if err != nil {
		return err
	}

	unlock := m.lock(name)
	defer unlock()

	if m.status(name) != api.Stopped {
		return errs.Invalid("the instance %q is running, stop it before refreshing it", name)
	}

	src, err := m.pool.Mount(name)
	if err != nil {
		return err
	}

	defer func() { _ = m.pool.Unmount(name) }()
	var fromMap *IDMap
	if len(from) > 0 {
		fromMap = &IDMap{Entries: from}
	}

	if fromMap.Equal(m.diskIDMap(inst.ExpandedConfig)) {
		err = copyTree(ctx, src, dst, "-al")
		if err == nil {
			return nil
		}
	}

	return copyTree(ctx, src, dst, "-a", "--reflink=auto")
}

// copyTree copies the directory src to dst with cp and the given flags, and removes what it left on failure.
func copyTree(ctx context.Context, src string, dst string, flags ...string) error {
	args := append(append([]string{}, flags...), "--", src+"/.", dst)
	err := os.Mkdir(dst, 0o700)
	if err != nil {
		return err
	}

	out, err := exec.CommandContext(ctx, "cp", args...).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dst)
		return fmt.Errorf("copying %s: %s: %w", src, strings.TrimSpace(string(out)), err)
	}

	return nil
}
