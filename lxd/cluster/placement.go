package cluster

import (
	"context"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
)

// PlaceInstance picks the member a new instance, made from a source of type sourceType, goes on when the request
// names none, as LXD's scheduler does: the online member holding the fewest instances, leaving out the members
// whose scheduler.instance is "manual" (they take instances only when named). This member wins a tie. Only an
// instance from an image or from nothing is placed: a copy or a migration needs what this member holds or is sent.
// It returns the member's address, "" for this member or when the server is not clustered.
func (m *Manager) PlaceInstance(ctx context.Context, sourceType string) (string, error) {
	if !m.Clustered() || (sourceType != "image" && sourceType != "none" && sourceType != "") {
		return "", nil
	}

	own := m.Address()
	threshold := m.offlineThreshold()
	best, bestCount := "", -1
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		counts := map[string]int{}
		for _, inst := range insts {
			counts[inst.Node]++
		}

		for _, n := range nodes {
			eligible := n.State == db.NodeCreated && time.Since(n.Heartbeat) <= threshold && n.Config["scheduler.instance"] != "manual"
			if !eligible {
				continue
			}

			c := counts[n.Name]
			if bestCount < 0 || c < bestCount || (c == bestCount && n.Address == own) {
				best, bestCount = n.Address, c
			}
		}

		return nil
	})
	if err != nil || best == own {
		return "", err
	}

	return best, nil
}
