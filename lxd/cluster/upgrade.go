package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// upgradeCheckInterval is how often a member that runs a newer version looks whether the others caught up.
const upgradeCheckInterval = 5 * time.Second

// waitVersions runs before a member brings the cluster database's schema up to date at start. It records the
// version this member runs; when another member runs an older one, it waits for that member to be upgraded (as
// LXD's members do), so that the schema changes once, when every member runs the same version. A member older than
// another is refused: it must be upgraded too.
func (m *Manager) waitVersions(ctx context.Context, global *sql.DB) error {
	own := m.Address()
	logged := false
	for {
		versions, err := db.MemberVersions(ctx, global)
		if err != nil {
			return err
		}

		var behind []string
		for _, v := range versions {
			if v.Address == own {
				continue
			}

			if v.Schema > m.args.Schema || (v.Schema == m.args.Schema && v.APIExtensions > m.args.APIExtensions) {
				return errs.Invalid("cluster member %q runs a newer version (schema %d, %d API extensions) than this one (schema %d, %d API extensions): upgrade this member",
					v.Name, v.Schema, v.APIExtensions, m.args.Schema, m.args.APIExtensions)
			}

			if v.Schema < m.args.Schema || v.APIExtensions < m.args.APIExtensions {
				behind = append(behind, v.Name)
			}
		}

		err = db.RecordMemberVersion(ctx, global, own, m.args.Schema, m.args.APIExtensions)
		if err != nil {
			return err
		}

		if len(behind) == 0 {
			return nil
		}

		if !logged {
			slog.Warn("waiting for the other cluster members to run this version", "members", behind, "schema", m.args.Schema, "api_extensions", m.args.APIExtensions)
			logged = true
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for cluster members %v to be upgraded: %w", behind, ctx.Err())
		case <-time.After(upgradeCheckInterval):
		}
	}
}
