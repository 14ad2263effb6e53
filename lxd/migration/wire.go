package migration

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// The messages of LXD's migration protocol (migrate.proto, proto2), encoded and decoded by hand: a field is a key
// (field number << 3 | wire type) then a varint or a length-delimited value. Required fields are always written,
// as a proto2 decoder refuses a message without them.

// FS types of MigrationHeader.fs.
const (
	FSRsync = 0
	FSBtrfs = 1
	FSZfs   = 2
)

// CRIU types of MigrationHeader.criu.
const (
	CRIURsync = 0
	CRIUNone  = 2
)

const (
	wireVarint = 0
	wireI64    = 1
	wireBytes  = 2
	wireI32    = 5
)

// IDMapEntry is one range of an id map (IDMapType): host ids Hostid.. map to Nsid.. for Maprange ids.
type IDMapEntry struct {
	IsUID    bool
	IsGID    bool
	HostID   int64
	NsID     int64
	MapRange int64
}

// Snapshot describes one snapshot sent with the header.
type Snapshot struct {
	Name         string
	Config       map[string]string
	Profiles     []string
	Ephemeral    bool
	Devices      map[string]map[string]string
	Architecture int32
	Stateful     bool
	CreatedAt    int64
	LastUsedAt   int64
	ExpiresAt    int64
}

// RsyncFeatures are the rsync options both ends agree on.
type RsyncFeatures struct {
	Xattrs        bool
	Delete        bool
	Compress      bool
	Bidirectional bool
}

// Args returns the rsync options of the features, as both ends pass them.
func (f *RsyncFeatures) Args() []string {
	if f == nil {
		return nil
	}

	var args []string
	if f.Xattrs {
		args = append(args, "--xattrs", "--filter=-x security.selinux")
	}

	if f.Delete {
		args = append(args, "--delete")
	}

	if f.Compress {
		args = append(args, "--compress", "--compress-level=2")
	}

	return args
}

// Header is MigrationHeader: the source's offer, then the target's answer.
type Header struct {
	FS            int32
	Criu          *int32
	IDMap         []IDMapEntry
	SnapshotNames []string
	Snapshots     []Snapshot
	Predump       *bool
	Rsync         *RsyncFeatures
	Refresh       *bool
}

// ControlMessage is MigrationControl: the end of a migration, its success or its failure.
type ControlMessage struct {
	Success bool
	Message string
}

func appendKey(b []byte, field int, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(appendKey(b, field, wireVarint), v)
}

func appendInt(b []byte, field int, v int64) []byte {
	return appendVarint(b, field, uint64(v))
}

func appendBool(b []byte, field int, v bool) []byte {
	n := uint64(0)
	if v {
		n = 1
	}

	return appendVarint(b, field, n)
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(appendKey(b, field, wireBytes), uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, field int, v string) []byte {
	return appendBytes(b, field, []byte(v))
}

// appendConfig writes a map as repeated Config {key, value} messages, sorted by key.
func appendConfig(b []byte, field int, config map[string]string) []byte {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}

	slices.Sort(keys)
	for _, k := range keys {
		var kv []byte
		kv = appendString(kv, 1, k)
		kv = appendString(kv, 2, config[k])
		b = appendBytes(b, field, kv)
	}

	return b
}

func (s Snapshot) marshal() []byte {
	var b []byte
	b = appendString(b, 1, s.Name)
	b = appendConfig(b, 2, s.Config)
	for _, p := range s.Profiles {
		b = appendString(b, 3, p)
	}

	b = appendBool(b, 4, s.Ephemeral)
	names := make([]string, 0, len(s.Devices))
	for name := range s.Devices {
		names = append(names, name)
	}

	slices.Sort(names)
	for _, name := range names {
		var d []byte
		d = appendString(d, 1, name)
		d = appendConfig(d, 2, s.Devices[name])
		b = appendBytes(b, 5, d)
	}

	b = appendInt(b, 6, int64(s.Architecture))
	b = appendBool(b, 7, s.Stateful)
	b = appendInt(b, 8, s.CreatedAt)
	b = appendInt(b, 9, s.LastUsedAt)
	b = appendInt(b, 10, s.ExpiresAt)
	return b
}

// Marshal encodes the header.
func (h *Header) Marshal() []byte {
	var b []byte
	b = appendInt(b, 1, int64(h.FS))
	if h.Criu != nil {
		b = appendInt(b, 2, int64(*h.Criu))
	}

	for _, e := range h.IDMap {
		var m []byte
		m = appendBool(m, 1, e.IsUID)
		m = appendBool(m, 2, e.IsGID)
		m = appendInt(m, 3, e.HostID)
		m = appendInt(m, 4, e.NsID)
		m = appendInt(m, 5, e.MapRange)
		b = appendBytes(b, 3, m)
	}

	for _, n := range h.SnapshotNames {
		b = appendString(b, 4, n)
	}

	for _, s := range h.Snapshots {
		b = appendBytes(b, 5, s.marshal())
	}

	if h.Predump != nil {
		b = appendBool(b, 7, *h.Predump)
	}

	if h.Rsync != nil {
		var f []byte
		f = appendBool(f, 1, h.Rsync.Xattrs)
		f = appendBool(f, 2, h.Rsync.Delete)
		f = appendBool(f, 3, h.Rsync.Compress)
		f = appendBool(f, 4, h.Rsync.Bidirectional)
		b = appendBytes(b, 8, f)
	}

	if h.Refresh != nil {
		b = appendBool(b, 9, *h.Refresh)
	}

	return b
}

// Marshal encodes the control message.
func (c *ControlMessage) Marshal() []byte {
	var b []byte
	b = appendBool(b, 1, c.Success)
	if c.Message != "" {
		b = appendString(b, 2, c.Message)
	}

	return b
}

var errTruncated = errors.New("migration message: truncated")

// field is one decoded field: a varint, or the bytes of a length-delimited value.
type field struct {
	num   int
	wire  int
	value uint64
	data  []byte
}

// parse splits a message into its fields, skipping fixed-size values.
func parse(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errTruncated
		}

		b = b[n:]
		f := field{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case wireVarint:
			f.value, n = binary.Uvarint(b)
			if n <= 0 {
				return nil, errTruncated
			}

			b = b[n:]
		case wireBytes:
			size, n := binary.Uvarint(b)
			if n <= 0 || size > uint64(len(b)-n) {
				return nil, errTruncated
			}

			f.data = b[n : n+int(size)]
			b = b[n+int(size):]
		case wireI64:
			if len(b) < 8 {
				return nil, errTruncated
			}

			b = b[8:]
		case wireI32:
			if len(b) < 4 {
				return nil, errTruncated
			}

			b = b[4:]
		default:
			return nil, fmt.Errorf("migration message: unknown wire type %d", f.wire)
		}

		out = append(out, f)
	}

	return out, nil
}

// int32Of reads an int32 varint (negative values are sign-extended to 64 bits on the wire).
func int32Of(v uint64) int32 {
	n := int64(v)
	if n > math.MaxInt32 || n < math.MinInt32 {
		return int32(uint32(v))
	}

	return int32(n)
}

func parseConfig(b []byte) (string, string, error) {
	fields, err := parse(b)
	if err != nil {
		return "", "", err
	}

	var k, v string
	for _, f := range fields {
		switch f.num {
		case 1:
			k = string(f.data)
		case 2:
			v = string(f.data)
		}
	}

	return k, v, nil
}

func parseSnapshot(b []byte) (Snapshot, error) {
	s := Snapshot{Config: map[string]string{}, Devices: map[string]map[string]string{}}
	fields, err := parse(b)
	if err != nil {
		return s, err
	}

	for _, f := range fields {
		switch f.num {
		case 1:
			s.Name = string(f.data)
		case 2:
			k, v, err := parseConfig(f.data)
			if err != nil {
				return s, err
			}

			s.Config[k] = v
		case 3:
			s.Profiles = append(s.Profiles, string(f.data))
		case 4:
			s.Ephemeral = f.value != 0
		case 5:
			dev, err := parse(f.data)
			if err != nil {
				return s, err
			}

			name := ""
			config := map[string]string{}
			for _, d := range dev {
				switch d.num {
				case 1:
					name = string(d.data)
				case 2:
					k, v, err := parseConfig(d.data)
					if err != nil {
						return s, err
					}

					config[k] = v
				}
			}

			s.Devices[name] = config
		case 6:
			s.Architecture = int32Of(f.value)
		case 7:
			s.Stateful = f.value != 0
		case 8:
			s.CreatedAt = int64(f.value)
		case 9:
			s.LastUsedAt = int64(f.value)
		case 10:
			s.ExpiresAt = int64(f.value)
		}
	}

	return s, nil
}

// UnmarshalHeader decodes a MigrationHeader.
func UnmarshalHeader(b []byte) (*Header, error) {
	fields, err := parse(b)
	if err != nil {
		return nil, err
	}

	h := &Header{}
	for _, f := range fields {
		switch f.num {
		case 1:
			h.FS = int32Of(f.value)
		case 2:
			v := int32Of(f.value)
			h.Criu = &v
		case 3:
			m, err := parse(f.data)
			if err != nil {
				return nil, err
			}

			e := IDMapEntry{}
			for _, mf := range m {
				switch mf.num {
				case 1:
					e.IsUID = mf.value != 0
				case 2:
					e.IsGID = mf.value != 0
				case 3:
					e.HostID = int64(int32Of(mf.value))
				case 4:
					e.NsID = int64(int32Of(mf.value))
				case 5:
					e.MapRange = int64(int32Of(mf.value))
				}
			}

			h.IDMap = append(h.IDMap, e)
		case 4:
			h.SnapshotNames = append(h.SnapshotNames, string(f.data))
		case 5:
			s, err := parseSnapshot(f.data)
			if err != nil {
				return nil, err
			}

			h.Snapshots = append(h.Snapshots, s)
		case 7:
			v := f.value != 0
			h.Predump = &v
		case 8:
			rf, err := parse(f.data)
			if err != nil {
				return nil, err
			}

			h.Rsync = &RsyncFeatures{}
			for _, x := range rf {
				switch x.num {
				case 1:
					h.Rsync.Xattrs = x.value != 0
				case 2:
					h.Rsync.Delete = x.value != 0
				case 3:
					h.Rsync.Compress = x.value != 0
				case 4:
					h.Rsync.Bidirectional = x.value != 0
				}
			}
		case 9:
			v := f.value != 0
			h.Refresh = &v
		}
	}

	return h, nil
}

// UnmarshalControl decodes a MigrationControl.
func UnmarshalControl(b []byte) (*ControlMessage, error) {
	fields, err := parse(b)
	if err != nil {
		return nil, err
	}

	c := &ControlMessage{}
	for _, f := range fields {
		switch f.num {
		case 1:
			c.Success = f.value != 0
		case 2:
			c.Message = string(f.data)
		}
	}

	return c, nil
}
