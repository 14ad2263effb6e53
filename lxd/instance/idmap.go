package instance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// IDMap maps container ids 0..Size-1 to host ids starting at HostUID and HostGID.
type IDMap struct {
	HostUID int64
	HostGID int64
	Size    int64
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
	if uid < 0 || gid < 0 || int64(uid) >= m.Size || int64(gid) >= m.Size {
		return 0, 0, fmt.Errorf("id %d:%d is outside the map of %d ids", uid, gid, m.Size)
	}

	return int(m.HostUID) + uid, int(m.HostGID) + gid, nil
}

// LXC returns the map as lxc.idmap values.
func (m *IDMap) LXC() []string {
	return []string{
		fmt.Sprintf("u 0 %d %d", m.HostUID, m.Size),
		fmt.Sprintf("g 0 %d %d", m.HostGID, m.Size),
	}
}

// JSON returns the map as LXD records it in volatile.idmap.* keys.
func (m *IDMap) JSON() string {
	return fmt.Sprintf(`[{"Isuid":true,"Isgid":false,"Hostid":%d,"Nsid":0,"Maprange":%d},{"Isuid":false,"Isgid":true,"Hostid":%d,"Nsid":0,"Maprange":%d}]`,
		m.HostUID, m.Size, m.HostGID, m.Size)
}
