package instance

import (
	"errors"
	"maps"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestUpdateVolatile(t *testing.T) {
	current := map[string]string{
		KeyUUID:                   "2f9d189e-930c-461a-a409-45fbb1fbee21",
		KeyBaseImage:              "abc",
		KeyIdmapBase:              "100000",
		KeyIdmapNext:              "[next]",
		KeyLastIdmap:              "[last]",
		KeyLastStatePower:         "STOPPED",
		"volatile.eth0.hwaddr":    "00:16:3e:00:00:01",
		"volatile.eth0.host_name": "veth1",
		"user.x":                  "1",
	}

	volatile := maps.Clone(current)
	delete(volatile, "user.x")

	with := func(changes map[string]string) map[string]string {
		out := maps.Clone(volatile)
		for k, v := range changes {
			if v == "-" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}

		return out
	}

	// What the stock client puts at the end of a refresh: the source's keys.
	source := map[string]string{
		KeyUUID:                           "11111111-2222-3333-4444-555555555555",
		"volatile.cloud-init.instance-id": "8fb8193b-a7b6-48a1-9980-8fb39191c520",
		KeyBaseImage:                      "def",
		KeyApplyTemplate:                  "create",
		KeyIdmapBase:                      "0",
		KeyIdmapNext:                      "[next]",
		KeyLastIdmap:                      "[]",
		KeyLastStatePower:                 "RUNNING",
		"volatile.eth0.hwaddr":            "00:16:3e:00:00:02",
		"volatile.eth0.host_name":         "veth2",
		"volatile.eth1.name":              "eth1",
	}

	tests := []struct {
		name      string
		requested map[string]string
		running   bool
		want      map[string]string
		invalid   bool
	}{
		{name: "same", requested: current, want: volatile},
		{name: "left out", requested: map[string]string{}, want: volatile},
		{name: "refresh of a stopped copy", requested: source, want: with(map[string]string{
			KeyUUID: source[KeyUUID], "volatile.cloud-init.instance-id": source["volatile.cloud-init.instance-id"],
			KeyBaseImage: "def", KeyApplyTemplate: "create", "volatile.eth0.hwaddr": "00:16:3e:00:00:02"})},
		{name: "refresh of a running copy", requested: source, running: true, want: with(map[string]string{
			KeyUUID: source[KeyUUID], "volatile.cloud-init.instance-id": source["volatile.cloud-init.instance-id"],
			KeyBaseImage: "def", KeyApplyTemplate: "create"})},
		{name: "empty removes", requested: map[string]string{KeyBaseImage: "", KeyIdmapBase: ""},
			want: with(map[string]string{KeyBaseImage: "-"})},
		{name: "idmap current", requested: map[string]string{KeyIdmapCurrent: "[]"}, want: volatile},
		{name: "bad uuid", requested: map[string]string{KeyUUID: "x"}, invalid: true},
		{name: "bad cloud-init id", requested: map[string]string{"volatile.cloud-init.instance-id": "xyz"}, invalid: true},
		{name: "bad mac", requested: map[string]string{"volatile.eth0.hwaddr": "nope"}, invalid: true},
		{name: "unknown", requested: map[string]string{"volatile.foo": "bar"}, invalid: true},
		{name: "unknown idmap key", requested: map[string]string{"volatile.idmap.foo": "bar"}, invalid: true},
		{name: "unknown last_state key", requested: map[string]string{"volatile.last_state.foo": "bar"}, invalid: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := updateVolatile(current, tt.requested, tt.running)
			if tt.invalid {
				if !errors.Is(err, errs.ErrInvalid) {
					t.Fatalf("want an invalid error, got %v (%v)", err, got)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
