package migration

import (
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// architectures are LXD's architecture numbers, as the migration header carries them.
var architectures = map[string]int32{
	"i686": 1, "x86_64": 2, "armv7l": 3, "aarch64": 4, "ppc": 5, "ppc64": 6, "ppc64le": 7, "s390x": 8,
	"mips": 9, "mips64": 10, "riscv32": 11, "riscv64": 12, "armv6l": 13, "armv8l": 14, "loongarch64": 15,
}

func architectureID(name string) int32 {
	return architectures[name]
}

func architectureName(id int32) string {
	for name, n := range architectures {
		if n == id {
			return name
		}
	}

	return ""
}

// The header's snapshot dates are Unix times in seconds; zero is no date.
func unixOf(t time.Time) int64 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}

	return t.Unix()
}

func timeOf(v int64) time.Time {
	if v <= 0 {
		return time.Time{}
	}

	return time.Unix(v, 0).UTC()
}

// snapshotHeader describes a snapshot in the header.
func snapshotHeader(snap api.InstanceSnapshot) Snapshot {
	return Snapshot{
		Name:         snap.Name,
		Config:       snap.Config,
		Profiles:     snap.Profiles,
		Ephemeral:    snap.Ephemeral,
		Devices:      snap.Devices,
		Architecture: architectureID(snap.Architecture),
		Stateful:     snap.Stateful,
		CreatedAt:    unixOf(snap.CreatedAt),
		LastUsedAt:   unixOf(snap.LastUsedAt),
		ExpiresAt:    unixOf(snap.ExpiresAt),
	}
}

// snapshotAPI is the snapshot a header describes.
func snapshotAPI(s Snapshot, arch string) api.InstanceSnapshot {
	snap := api.InstanceSnapshot{
		Name:       s.Name,
		Config:     s.Config,
		Profiles:   s.Profiles,
		Ephemeral:  s.Ephemeral,
		Devices:    s.Devices,
		Stateful:   false,
		CreatedAt:  timeOf(s.CreatedAt),
		LastUsedAt: timeOf(s.LastUsedAt),
		ExpiresAt:  timeOf(s.ExpiresAt),
	}

	snap.Architecture = architectureName(s.Architecture)
	if snap.Architecture == "" {
		snap.Architecture = arch
	}

	if snap.CreatedAt.IsZero() {
		snap.CreatedAt = time.Now().UTC()
	}

	return snap
}
