package main

import (
	"testing"
)

func TestMoveRequest(t *testing.T) {
	tests := []struct {
		name     string
		src      moveTarget
		dst      moveTarget
		wantSnap bool
		wantName string
		wantErr  bool
	}{
		{"instance", moveTarget{instance: "c1"}, moveTarget{instance: "c2"}, false, "c2", false},
		{"snapshot", moveTarget{instance: "c1", snapshot: "s0", isSnap: true}, moveTarget{instance: "c1", snapshot: "s1", isSnap: true}, true, "s1", false},
		{"other server", moveTarget{remote: "a", instance: "c1"}, moveTarget{remote: "b", instance: "c1"}, false, "", true},
		{"no source", moveTarget{}, moveTarget{instance: "c2"}, false, "", true},
		{"no destination", moveTarget{instance: "c1"}, moveTarget{}, false, "", true},
		{"instance to snapshot", moveTarget{instance: "c1"}, moveTarget{instance: "c1", snapshot: "s", isSnap: true}, false, "", true},
		{"snapshot to other parent", moveTarget{instance: "c1", snapshot: "s0", isSnap: true}, moveTarget{instance: "c2", snapshot: "s0", isSnap: true}, false, "", true},
		{"snapshot to instance", moveTarget{instance: "c1", snapshot: "s0", isSnap: true}, moveTarget{instance: "c1"}, false, "", true},
		{"empty snapshot", moveTarget{instance: "c1", isSnap: true}, moveTarget{instance: "c1", snapshot: "s1", isSnap: true}, false, "", true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, name, err := moveRequest(tt.src, tt.dst)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}

			if snap != tt.wantSnap || name != tt.wantName {
				t.Fatalf("got %v %q, want %v %q", snap, name, tt.wantSnap, tt.wantName)
			}
		})
	}
}
