package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// IDMapEntry is one range of an id map, with LXD's field names: Maprange ids from Nsid in the container are Hostid
// and up on the host, for uids (Isuid), gids (Isgid) or both.
type IDMapEntry struct {
	Isuid    bool  `json:"Isuid"`
	Isgid    bool  `json:"Isgid"`
	Hostid   int64 `json:"Hostid"`
	Nsid     int64 `json:"Nsid"`
	Maprange int64 `json:"Maprange"`
}

// lxc returns the entry as lxc.idmap values.
func (e IDMapEntry) lxc() []string {
	var out []string
	if e.Isuid {
		out = append(out, fmt.Sprintf("u %d %d %d", e.Nsid, e.Hostid, e.Maprange))
	}

	if e.Isgid {
		out = append(out, fmt.Sprintf("g %d %d %d", e.Nsid, e.Hostid, e.Maprange))
	}

	return out
}

// covers reports whether the entry maps container id id of the given kind.
func (e IDMapEntry) covers(id int64, isUID bool) bool {
	return (isUID && e.Isuid || !isUID && e.Isgid) && id >= e.Nsid && id < e.Nsid+e.Maprange
}

// coversHost reports whether the entry maps to host id id of the given kind.
func (e IDMapEntry) coversHost(id int64, isUID bool) bool {
	return (isUID && e.Isuid || !isUID && e.Isgid) && id >= e.Hostid && id < e.Hostid+e.Maprange
}

// sameKind reports whether two entries map ids of a common kind.
func (e IDMapEntry) sameKind(o IDMapEntry) bool {
	return e.Isuid && o.Isuid || e.Isgid && o.Isgid
}

// entries returns the ranges of the map.
func (m *IDMap) entries() []IDMapEntry {
	if m.Entries != nil {
		return m.Entries
	}

	return []IDMapEntry{
		{Isuid: true, Hostid: m.HostUID, Nsid: 0, Maprange: m.Size},
		{Isgid: true, Hostid: m.HostGID, Nsid: 0, Maprange: m.Size},
	}
}

// hostID maps one container id to the host.
func (m *IDMap) hostID(id int64, isUID bool) (int64, bool) {
	for _, e := range m.entries() {
		if e.covers(id, isUID) {
			return e.Hostid + id - e.Nsid, true
		}
	}

	return 0, false
}

// nsID maps one host id back into the container.
func (m *IDMap) nsID(id int64, isUID bool) (int64, bool) {
	for _, e := range m.entries() {
		if e.coversHost(id, isUID) {
			return e.Nsid + id - e.Hostid, true
		}
	}

	return 0, false
}

// Block returns the map without its raw.idmap ranges: the block of Size ids from HostUID and HostGID, which is
// how image bases are shifted.
func (m *IDMap) Block() *IDMap {
	return &IDMap{HostUID: m.HostUID, HostGID: m.HostGID, Size: m.Size}
}

// Equal reports whether two maps (nil for none) map the same ranges in the same order.
func (m *IDMap) Equal(o *IDMap) bool {
	if m == nil || o == nil {
		return m == nil && o == nil
	}

	a, b := m.entries(), o.entries()
	if len(a) != len(b) {
		return false
	}

	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}

	return true
}

// ParseIDMapJSON reads a map as LXD records it in volatile.idmap.* keys. "" and "[]" are no map (nil).
func ParseIDMapJSON(v string) (*IDMap, error) {
	if v == "" {
		return nil, nil
	}

	var entries []IDMapEntry
	err := json.Unmarshal([]byte(v), &entries)
	if err != nil {
		return nil, fmt.Errorf("parsing id map: %w", err)
	}

	if len(entries) == 0 {
		return nil, nil
	}

	m := &IDMap{Entries: entries}
	var okU, okG bool
	m.HostUID, okU = m.hostID(0, true)
	m.HostGID, okG = m.hostID(0, false)
	if !okU || !okG {
		return nil, errors.New("parsing id map: the container's root is not mapped")
	}

	for _, e := range entries {
		if e.Maprange <= 0 || e.Nsid < 0 || e.Hostid < 0 {
			return nil, fmt.Errorf("parsing id map: bad range %+v", e)
		}

		if e.Isuid {
			m.Size = max(m.Size, e.Nsid+e.Maprange)
		}
	}

	return m, nil
}

// parseIDRange reads "N" (one id) or "N-M" (N to M included).
func parseIDRange(v string) (int64, int64, error) {
	first, last, isRange := strings.Cut(v, "-")
	base, err := strconv.ParseInt(first, 10, 64)
	if err != nil || base < 0 {
		return 0, 0, fmt.Errorf("%q is not an id or a range of ids", v)
	}

	if !isRange {
		return base, 1, nil
	}

	end, err := strconv.ParseInt(last, 10, 64)
	if err != nil || end < base {
		return 0, 0, fmt.Errorf("%q is not an id or a range of ids", v)
	}

	return base, end - base + 1, nil
}

// ParseRawIDMap reads raw.idmap as LXD does: one "both|uid|gid HOST CONTAINER" a line, where HOST and CONTAINER
// are an id or a range "N-M" of the same size. A "both" line gives a uid and a gid entry.
func ParseRawIDMap(v string) ([]IDMapEntry, error) {
	var out []IDMapEntry
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}

		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("invalid raw.idmap line %q", line)
		}

		host, hostSize, err := parseIDRange(fields[1])
		if err != nil {
			return nil, fmt.Errorf("invalid raw.idmap line %q: %w", line, err)
		}

		ns, nsSize, err := parseIDRange(fields[2])
		if err != nil {
			return nil, fmt.Errorf("invalid raw.idmap line %q: %w", line, err)
		}

		if hostSize != nsSize {
			return nil, fmt.Errorf("idmap ranges of different sizes %q", line)
		}

		e := IDMapEntry{Hostid: host, Nsid: ns, Maprange: nsSize}
		switch fields[0] {
		case "both":
			u, g := e, e
			u.Isuid, g.Isgid = true, true
			out = append(out, u, g)
		case "uid":
			e.Isuid = true
			out = append(out, e)
		case "gid":
			e.Isgid = true
			out = append(out, e)
		default:
			return nil, fmt.Errorf("invalid raw.idmap type %q", line)
		}
	}

	return out, nil
}

// ErrHostIDIsSubID is a raw.idmap range whose host ids are in the range the container's map already uses.
var ErrHostIDIsSubID = errors.New("host id is in the range of subids")

// WithRaw returns the map with the raw.idmap entries applied on top, as LXD applies them: each splits the ranges
// of its kind whose container ids it covers, and one that maps no container id of the map is added as it is.
func (m *IDMap) WithRaw(raw []IDMapEntry) (*IDMap, error) {
	entries := append([]IDMapEntry(nil), m.entries()...)
	for _, r := range raw {
		var next []IDMapEntry
		added := false
		for _, e := range entries {
			if !e.sameKind(r) || r.Nsid >= e.Nsid+e.Maprange || e.Nsid >= r.Nsid+r.Maprange {
				next = append(next, e)
				continue
			}

			if r.Hostid < e.Hostid+e.Maprange && e.Hostid < r.Hostid+r.Maprange {
				return nil, fmt.Errorf("raw.idmap maps host ids %d-%d that the container's map already uses: %w",
					r.Hostid, r.Hostid+r.Maprange-1, ErrHostIDIsSubID)
			}

			added = true
			below := r.Nsid - e.Nsid
			if below > 0 {
				next = append(next, IDMapEntry{Isuid: e.Isuid, Isgid: e.Isgid, Hostid: e.Hostid, Nsid: e.Nsid, Maprange: below})
			}

			next = append(next, r)
			above := e.Nsid + e.Maprange - (r.Nsid + r.Maprange)
			if above > 0 {
				next = append(next, IDMapEntry{Isuid: e.Isuid, Isgid: e.Isgid, Hostid: e.Hostid + below + r.Maprange,
					Nsid: r.Nsid + r.Maprange, Maprange: above})
			}
		}

		if !added {
			next = append(next, r)
		}

		entries = next
	}

	out := &IDMap{HostUID: m.HostUID, HostGID: m.HostGID, Size: m.Size, Entries: entries}
	hu, okU := out.hostID(0, true)
	hg, okG := out.hostID(0, false)
	if okU && okG {
		out.HostUID, out.HostGID = hu, hg
	}

	return out, nil
}
