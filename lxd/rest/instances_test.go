package rest

import (
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestFilterInstances(t *testing.T) {
	insts := []api.Instance{
		{Name: "c1", Status: "Running", InstancePut: api.InstancePut{Config: map[string]string{"image.os": "busybox"}}},
		{Name: "c2", Status: "Stopped", InstancePut: api.InstancePut{Config: map[string]string{"image.os": "alpine"}}},
		{Name: "c3", Status: "Frozen"},
	}

	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"c1", "c2", "c3"}},
		{"status eq running", []string{"c1"}},
		{"status eq Running", []string{"c1"}},
		{"status eq RUNNING", []string{"c1"}},
		{"status ne running", []string{"c2", "c3"}},
		{"config.image.os eq busybox", []string{"c1"}},
		{"status eq stopped or status eq frozen", []string{"c2", "c3"}},
		{"name eq c2 and status eq stopped", []string{"c2"}},
	}

	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			got, err := filterInstances(insts, tt.filter)
			if err != nil {
				t.Fatal(err)
			}

			names := []string{}
			for _, i := range got {
				names = append(names, i.Name)
			}

			if len(names) != len(tt.want) {
				t.Fatalf("got %v, want %v", names, tt.want)
			}

			for i := range names {
				if names[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", names, tt.want)
				}
			}

			if len(got) > 0 && got[0].Status == "running" {
				t.Fatal("filtering changed the returned status")
			}
		})
	}
}

func TestStopTimeout(t *testing.T) {
	if stopTimeout(-1) >= 0 || stopTimeout(0) != 0 || stopTimeout(30).Seconds() != 30 {
		t.Fatalf("got %v %v %v, want negative, 0 and 30s", stopTimeout(-1), stopTimeout(0), stopTimeout(30))
	}
}
