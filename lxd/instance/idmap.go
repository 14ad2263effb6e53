package instance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// IDMap maps container ids to host ids. HostUID and HostGID are the host ids of the container's root and Size the
// extent of its id space; Entries, when set, are the ranges as LXD records them (raw.idmap splits the block), and
// when nil the map is the single block of Size ids from HostUID and HostGID.
type IDMap struct {
	HostUID int64
	HostGID int64
	Size    int64
	Entries []IDMapEntry
}

// DefaultSubIDStart and DefaultSubIDSize are the range written to /etc/subuid and /etc/subgid when root has none.
const (
	DefaultSubIDStart = 1000000
	DefaultSubIDSize  = 1000000000
)

// minSubIDs is the smallest usable range: a container needs at least the 16-bit id space.
const minSubIDs = 65536

// SubIDRange is one line of /etc/subuid or /etc/subgid.
type SubIDRange struct {
	User  string
	Start int64
	Size  int64
}

// ParseSubIDs reads /etc/subuid-style lines (user:start:count); blank lines and comments are skipped.
func ParseSubIDs(r io.Reader) ([]SubIDRange, error) {
	var out []SubIDRange
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}

		fields := strings.Split(text, ":")
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: expected user:start:count", line)
		}

		start, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || start < 0 {
			return nil, fmt.Errorf("line %d: bad start %q", line, fields[1])
		}

		size, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil || size <= 0 {
			return nil, fmt.Errorf("line %d: bad count %q", line, fields[2])
		}

		out = append(out, SubIDRange{User: fields[0], Start: start, Size: size})
	}

	return out, sc.Err()
}

// pickRange returns the first range of user (by name or uid) large enough for a container.
func pickRange(ranges []SubIDRange, user string, uid string) (SubIDRange, bool) {
	for _, r := range ranges {
		if (r.User == user || r.User == uid) && r.Size >= minSubIDs {
			return r, true
		}
	}

	return SubIDRange{}, false
}

// ensureSubIDFile returns root's range in path, appending the default range when root has none.
func ensureSubIDFile(path string) (SubIDRange, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return SubIDRange{}, err
	}

	ranges, err := ParseSubIDs(strings.NewReader(string(data)))
	if err != nil {
		return SubIDRange{}, fmt.Errorf("parsing %s: %w", path, err)
	}

	r, ok := pickRange(ranges, "root", "0")
	if ok {
		return r, nil
	}

	line := fmt.Sprintf("root:%d:%d\n", DefaultSubIDStart, DefaultSubIDSize)
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		line = "\n" + line
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return SubIDRange{}, err
	}

	_, err = f.WriteString(line)
	closeErr := f.Close()
	if err != nil {
		return SubIDRange{}, fmt.Errorf("writing %s: %w", path, err)
	}

	if closeErr != nil {
		return SubIDRange{}, closeErr
	}

	return SubIDRange{User: "root", Start: DefaultSubIDStart, Size: DefaultSubIDSize}, nil
}

// EnsureIDMap reads root's ranges from the subuid and subgid files (normally /etc/subuid and /etc/subgid),
// adding the default range to a file that has none for root, and returns the map unprivileged containers use.
func EnsureIDMap(subuid string, subgid string) (*IDMap, error) {
	u, err := ensureSubIDFile(subuid)
	if err != nil {
		return nil, err
	}

	g, err := ensureSubIDFile(subgid)
	if err != nil {
		return nil, err
	}

	return &IDMap{HostUID: u.Start, HostGID: g.Start, Size: min(u.Size, g.Size)}, nil
}

// Shift maps a container uid and gid to the host ones.
func (m *IDMap) Shift(uid int, gid int) (int, int, error) {
	hu, okU := m.hostID(int64(uid), true)
	hg, okG := m.hostID(int64(gid), false)
	if !okU || !okG {
		return 0, 0, fmt.Errorf("id %d:%d is outside the map of %d ids", uid, gid, m.Size)
	}

	return int(hu), int(hg), nil
}

// Unshift maps host ids back to container ids; ids outside the map are reported as -1.
func (m *IDMap) Unshift(uid int, gid int) (int, int) {
	cu, okU := m.nsID(int64(uid), true)
	cg, okG := m.nsID(int64(gid), false)
	if !okU {
		cu = -1
	}

	if !okG {
		cg = -1
	}

	return int(cu), int(cg)
}

// LXC returns the map as lxc.idmap values, each once.
func (m *IDMap) LXC() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range m.entries() {
		for _, line := range e.lxc() {
			if !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}

	return out
}

// JSON returns the map as LXD records it in volatile.idmap.* keys.
func (m *IDMap) JSON() string {
	data, _ := json.Marshal(m.entries())
	return string(data)
}
