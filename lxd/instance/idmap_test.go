package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []SubIDRange
		ok    bool
	}{
		{"empty", "", nil, true},
		{"one", "root:1000000:1000000000\n", []SubIDRange{{"root", 1000000, 1000000000}}, true},
		{"comments and blanks", "# c\n\nlxd:100000:65536\nroot:200000:65536", []SubIDRange{{"lxd", 100000, 65536}, {"root", 200000, 65536}}, true},
		{"missing field", "root:100000\n", nil, false},
		{"bad start", "root:x:65536\n", nil, false},
		{"zero count", "root:100000:0\n", nil, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSubIDs(strings.NewReader(tt.input))
			if (err == nil) != tt.ok {
				t.Fatalf("got error %v, want ok=%v", err, tt.ok)
			}

			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}

			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestEnsureIDMap(t *testing.T) {
	tests := []struct {
		name       string
		subuid     string
		subgid     string
		wantUID    int64
		wantGID    int64
		wantSize   int64
		wantSubuid string
	}{
		{"missing files get the default", "", "", DefaultSubIDStart, DefaultSubIDStart, DefaultSubIDSize,
			"root:1000000:1000000000\n"},
		{"existing root range kept", "root:100000:65536\n", "root:300000:70000\n", 100000, 300000, 65536,
			"root:100000:65536\n"},
		{"too small range is not used", "root:100000:1000", "", DefaultSubIDStart, DefaultSubIDStart, DefaultSubIDSize,
			"root:100000:1000\nroot:1000000:1000000000\n"},
		{"other users only", "lxd:100000:65536\n", "", DefaultSubIDStart, DefaultSubIDStart, DefaultSubIDSize,
			"lxd:100000:65536\nroot:1000000:1000000000\n"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			uidPath, gidPath := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
			if tt.subuid != "" {
				err := os.WriteFile(uidPath, []byte(tt.subuid), 0o644)
				if err != nil {
					t.Fatal(err)
				}
			}

			if tt.subgid != "" {
				err := os.WriteFile(gidPath, []byte(tt.subgid), 0o644)
				if err != nil {
					t.Fatal(err)
				}
			}

			m, err := EnsureIDMap(uidPath, gidPath)
			if err != nil {
				t.Fatal(err)
			}

			if m.HostUID != tt.wantUID || m.HostGID != tt.wantGID || m.Size != tt.wantSize {
				t.Fatalf("got %+v, want uid %d gid %d size %d", m, tt.wantUID, tt.wantGID, tt.wantSize)
			}

			data, err := os.ReadFile(uidPath)
			if err != nil {
				t.Fatal(err)
			}

			if string(data) != tt.wantSubuid {
				t.Fatalf("got subuid %q, want %q", data, tt.wantSubuid)
			}
		})
	}
}

func TestIDMapShift(t *testing.T) {
	m := &IDMap{HostUID: 1000000, HostGID: 2000000, Size: 65536}
	uid, gid, err := m.Shift(0, 5)
	if err != nil || uid != 1000000 || gid != 2000005 {
		t.Fatalf("got %d:%d %v, want 1000000:2000005", uid, gid, err)
	}

	_, _, err = m.Shift(65536, 0)
	if err == nil {
		t.Fatal("got no error for an id outside the map")
	}

	want := []string{"u 0 1000000 65536", "g 0 2000000 65536"}
	got := m.LXC()
	if got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}
