package instance

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestAllocIDMap(t *testing.T) {
	daemon := &IDMap{HostUID: 1000000, HostGID: 1000000, Size: 1000000}
	iso := map[string]string{KeyIdmapIsolated: "true"}
	tests := []struct {
		name     string
		daemon   *IDMap
		config   map[string]string
		current  int64
		others   []usedRange
		wantBase int64
		wantSize int64
		wantErr  string
	}{
		{"shared", daemon, map[string]string{}, -1, nil, 1000000, 1000000, ""},
		{"privileged", daemon, map[string]string{"security.privileged": "true", KeyIdmapIsolated: "true"}, -1, nil, 0, 0, ""},
		{"no daemon map", nil, iso, -1, nil, 0, 0, ""},
		{"first isolated", daemon, iso, -1, nil, 1065536, 65536, ""},
		{"after another", daemon, iso, -1, []usedRange{{1065536, 65536}}, 1131072, 65536, ""},
		{"in a hole", daemon, iso, -1, []usedRange{{1131072, 65536}}, 1065536, 65536, ""},
		{"hole too small", daemon, map[string]string{KeyIdmapIsolated: "true", KeyIdmapSize: "100000"}, -1,
			[]usedRange{{1131072, 65536}}, 1196608, 100000, ""},
		{"keeps its range", daemon, iso, 1327680, []usedRange{{1065536, 65536}}, 1327680, 65536, ""},
		{"moves off an overlap", daemon, iso, 1065536, []usedRange{{1065536, 65536}}, 1131072, 65536, ""},
		{"explicit base", daemon, map[string]string{KeyIdmapIsolated: "true", KeyIdmapBaseConf: "1500000"}, -1, nil, 1500000, 65536, ""},
		{"explicit base outside", daemon, map[string]string{KeyIdmapIsolated: "true", KeyIdmapBaseConf: "5000"}, -1, nil, 0, 0, "outside the daemon's id range"},
		{"full", daemon, map[string]string{KeyIdmapIsolated: "true", KeyIdmapSize: "900000"}, -1,
			[]usedRange{{1065536, 65536}}, 0, 0, "not enough uid/gid available"},
		{"bad raw", daemon, map[string]string{KeyRawIdmap: "both x 1"}, -1, nil, 0, 0, "invalid raw.idmap line"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, base, err := AllocIDMap(tt.daemon, tt.config, tt.current, tt.others)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if tt.wantSize == 0 {
				if m != nil {
					t.Fatalf("got map %s, want none", m.JSON())
				}

				return
			}

			if base != tt.wantBase || m.HostUID != tt.wantBase || m.Size != tt.wantSize {
				t.Fatalf("got base %d map %s, want base %d size %d", base, m.JSON(), tt.wantBase, tt.wantSize)
			}
		})
	}
}

func TestRawIDMap(t *testing.T) {
	raw, err := ParseRawIDMap("both 1000 1000\nuid 50-60 500-510\n\n")
	if err != nil {
		t.Fatal(err)
	}

	if len(raw) != 3 {
		t.Fatalf("got %+v, want 3 entries", raw)
	}

	m, err := (&IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}).WithRaw(raw)
	if err != nil {
		t.Fatal(err)
	}

	wantLXC := []string{"u 0 1000000 500", "u 500 50 11", "u 511 1000511 489", "u 1000 1000 1", "u 1001 1001001 64535",
		"g 0 1000000 1000", "g 1000 1000 1", "g 1001 1001001 64535"}
	got := m.LXC()
	if strings.Join(got, "|") != strings.Join(wantLXC, "|") {
		t.Fatalf("got %q, want %q", got, wantLXC)
	}

	for _, c := range []struct{ uid, gid, hu, hg int }{{0, 0, 1000000, 1000000}, {1000, 1000, 1000, 1000}, {505, 2, 55, 1000002}, {1001, 1001, 1001001, 1001001}} {
		hu, hg, err := m.Shift(c.uid, c.gid)
		if err != nil || hu != c.hu || hg != c.hg {
			t.Fatalf("Shift(%d, %d) = %d, %d, %v; want %d, %d", c.uid, c.gid, hu, hg, err, c.hu, c.hg)
		}

		u, g := m.Unshift(hu, hg)
		if u != c.uid || g != c.gid {
			t.Fatalf("Unshift(%d, %d) = %d, %d; want %d, %d", hu, hg, u, g, c.uid, c.gid)
		}
	}

	back, err := ParseIDMapJSON(m.JSON())
	if err != nil || !back.Equal(m) || back.HostUID != 1000000 || back.Size != 65536 {
		t.Fatalf("round trip of %s: got %+v, %v", m.JSON(), back, err)
	}

	_, err = (&IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}).WithRaw([]IDMapEntry{{Isuid: true, Hostid: 1000005, Nsid: 7, Maprange: 1}})
	if err == nil {
		t.Fatal("a raw entry onto the container's own host ids was accepted")
	}

	for _, bad := range []string{"both 1", "all 1 1", "uid 1-3 1-2", "gid 5-1 5-1", "uid -1 1"} {
		_, err := ParseRawIDMap(bad)
		if err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestIDMapJSONFormat(t *testing.T) {
	m := &IDMap{HostUID: 1000000, HostGID: 1000000, Size: 1000000000}
	want := `[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":1000000000},{"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":1000000000}]`
	if m.JSON() != want {
		t.Fatalf("got %s, want %s", m.JSON(), want)
	}
}

func TestShiftTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}

	root := t.TempDir()
	from := &IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}
	to := &IDMap{HostUID: 1065536, HostGID: 1065536, Size: 65536}
	files := map[string][2]int{"a": {1000000, 1000000}, "b": {1001000, 1000005}, "outside": {5, 5}}
	for name, ids := range files {
		p := filepath.Join(root, name)
		err := os.WriteFile(p, nil, 0o4755)
		if err != nil {
			t.Fatal(err)
		}

		err = os.Chown(p, ids[0], ids[1])
		if err != nil {
			t.Fatal(err)
		}

		err = os.Chmod(p, 0o755|os.ModeSetuid)
		if err != nil {
			t.Fatal(err)
		}
	}

	err := ShiftTree(root, from, to)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string][2]int{"a": {1065536, 1065536}, "b": {1066536, 1065541}, "outside": {5, 5}}
	for name, ids := range want {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}

		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != ids[0] || int(st.Gid) != ids[1] {
			t.Errorf("%s: got %d:%d, want %d:%d", name, st.Uid, st.Gid, ids[0], ids[1])
		}

		if fi.Mode()&os.ModeSetuid == 0 {
			t.Errorf("%s lost its set-user-ID bit", name)
		}
	}
}
