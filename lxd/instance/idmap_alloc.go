package instance

import (
	"context"
	"sort"
	"strconv"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// Id map configuration keys and volatile keys beyond manager.go's.
const (
	KeyIdmapIsolated = "security.idmap.isolated"
	KeyIdmapSize     = "security.idmap.size"
	KeyIdmapBaseConf = "security.idmap.base"
	KeyRawIdmap      = "raw.idmap"
	KeyIdmapCurrent  = "volatile.idmap.current"
)

// isolatedIDMapSize is the size of an isolated map when security.idmap.size is unset, and the part of the
// daemon's range kept for the containers that share one map before the isolated ones.
const isolatedIDMapSize = 65536

// idmapKeys are the configuration keys the id map of a container follows.
var idmapKeys = []string{"security.privileged", KeyIdmapIsolated, KeyIdmapSize, KeyIdmapBaseConf, KeyRawIdmap}

func checkRawIDMap(v string) error {
	_, err := ParseRawIDMap(v)
	return err
}

// usedRange is the host uid range of an isolated container.
type usedRange struct {
	start int64
	size  int64
}

// isolatedSize returns the size of the map of an isolated container.
func isolatedSize(expanded map[string]string) (int64, error) {
	v := expanded[KeyIdmapSize]
	if v == "" || v == "auto" {
		return isolatedIDMapSize, nil
	}

	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.Invalid("invalid security.idmap.size %q", v)
	}

	return n, nil
}

// AllocIDMap returns the map a container with the expanded configuration gets from the daemon's map, and the
// host uid recorded as volatile.idmap.base, as LXD chooses them: a privileged container (or a daemon without a
// map) has none; a container that is not isolated shares the daemon's map; an isolated one gets
// security.idmap.base when set, or else keeps the range it has (current, its volatile.idmap.base) while that
// still fits, or else the first free range of its size after the first 65536 ids of the daemon's map that
// overlaps no range of others (the other isolated containers). raw.idmap is applied on top.
func AllocIDMap(daemon *IDMap, expanded map[string]string, current int64, others []usedRange) (*IDMap, int64, error) {
	if daemon == nil || IsTrue(expanded["security.privileged"]) {
		return nil, 0, nil
	}

	raw, err := ParseRawIDMap(expanded[KeyRawIdmap])
	if err != nil {
		return nil, 0, errs.Invalid("%s", err.Error())
	}

	withRaw := func(m *IDMap) (*IDMap, error) {
		out, err := m.WithRaw(raw)
		if err != nil {
			return nil, errs.Invalid("%s", err.Error())
		}

		return out, nil
	}

	if !IsTrue(expanded[KeyIdmapIsolated]) {
		m, err := withRaw(daemon.Block())
		return m, daemon.HostUID, err
	}

	size, err := isolatedSize(expanded)
	if err != nil {
		return nil, 0, err
	}

	end := daemon.HostUID + daemon.Size
	fits := func(start int64) bool {
		if start < daemon.HostUID || start+size > end {
			return false
		}

		for _, o := range others {
			if start < o.start+o.size && o.start < start+size {
				return false
			}
		}

		return true
	}

	block := func(start int64) (*IDMap, int64, error) {
		m, err := withRaw(&IDMap{HostUID: start, HostGID: daemon.HostGID + start - daemon.HostUID, Size: size})
		return m, start, err
	}

	if expanded[KeyIdmapBaseConf] != "" {
		start, err := strconv.ParseInt(expanded[KeyIdmapBaseConf], 10, 64)
		if err != nil {
			return nil, 0, errs.Invalid("invalid security.idmap.base %q", expanded[KeyIdmapBaseConf])
		}

		if start < daemon.HostUID || start+size > end {
			return nil, 0, errs.Invalid("security.idmap.base %d with security.idmap.size %d is outside the daemon's id range %d-%d",
				start, size, daemon.HostUID, end-1)
		}

		return block(start)
	}

	if current >= daemon.HostUID+isolatedIDMapSize && fits(current) {
		return block(current)
	}

	sort.Slice(others, func(i, j int) bool { return others[i].start < others[j].start })
	start := daemon.HostUID + isolatedIDMapSize
	for _, o := range others {
		if start+size <= o.start {
			break
		}

		start = max(start, o.start+o.size)
	}

	if start+size > end {
		return nil, 0, errs.Invalid("not enough uid/gid available for the container (%d ids wanted in the daemon's range %d-%d)",
			size, daemon.HostUID, end-1)
	}

	return block(start)
}

// isolatedRanges returns the host ranges of the isolated containers other than name.
func isolatedRanges(ctx context.Context, tx *db.Tx, name string) ([]usedRange, error) {
	insts, err := tx.GetLocalInstances(ctx)
	if err != nil {
		return nil, err
	}

	var out []usedRange
	for _, inst := range insts {
		if inst.Name == name {
			continue
		}

		profiles, err := loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return nil, err
		}

		expanded, _ := Expand(profiles, inst.Config, inst.Devices)
		if IsTrue(expanded["security.privileged"]) || !IsTrue(expanded[KeyIdmapIsolated]) {
			continue
		}

		base, err := strconv.ParseInt(expanded[KeyIdmapBase], 10, 64)
		if err != nil {
			continue
		}

		size, err := isolatedSize(expanded)
		if err != nil {
			continue
		}

		out = append(out, usedRange{start: base, size: size})
	}

	return out, nil
}

// nextIDMap chooses, in tx, the map of container name with the expanded configuration (see AllocIDMap).
func (m *Manager) nextIDMap(ctx context.Context, tx *db.Tx, name string, expanded map[string]string) (*IDMap, int64, error) {
	if m.privileged(expanded) {
		return nil, 0, nil
	}

	// Only a range still to be found needs those of the others.
	var others []usedRange
	if IsTrue(expanded[KeyIdmapIsolated]) && expanded[KeyIdmapBaseConf] == "" {
		var err error
		others, err = isolatedRanges(ctx, tx, name)
		if err != nil {
			return nil, 0, err
		}
	}

	current, err := strconv.ParseInt(expanded[KeyIdmapBase], 10, 64)
	if err != nil {
		current = -1
	}

	return AllocIDMap(m.idmap, expanded, current, others)
}

// setIDMapKeys records next as the map of the container's next start in config.
func setIDMapKeys(config map[string]string, next *IDMap, base int64) {
	if next == nil {
		return
	}

	config[KeyIdmapBase] = strconv.FormatInt(base, 10)
	config[KeyIdmapNext] = next.JSON()
}

// diskIDMap returns the map the root filesystem of a container with the (expanded) configuration is shifted to:
// volatile.last_state.idmap, the daemon's map when it is not recorded, nil when privileged.
func (m *Manager) diskIDMap(config map[string]string) *IDMap {
	if m.privileged(config) {
		return nil
	}

	disk, err := ParseIDMapJSON(config[KeyLastIdmap])
	if err != nil || disk == nil {
		return m.idmap
	}

	return disk
}

// updateIDMap, in the transaction of a configuration change from oldConfig to newConfig (expanded), chooses the
// container's next map again when a key it follows changed, and records it in config (the instance's own new
// configuration). The change is refused when the map cannot be had, or when it would shift a root filesystem
// that security.protection.shift protects.
func (m *Manager) updateIDMap(ctx context.Context, tx *db.Tx, name string, oldConfig map[string]string, newConfig map[string]string, config map[string]string) error {
	changed := oldConfig[KeyProtectionShift] != newConfig[KeyProtectionShift]
	for _, k := range idmapKeys {
		changed = changed || oldConfig[k] != newConfig[k]
	}

	if !changed || m.privileged(newConfig) {
		return nil
	}

	next, base, err := m.nextIDMap(ctx, tx, name, newConfig)
	if err != nil {
		return err
	}

	err = checkShiftProtection(newConfig, m.diskIDMap(newConfig), next)
	if err != nil {
		return err
	}

	setIDMapKeys(config, next, base)
	return nil
}
