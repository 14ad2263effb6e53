package instance

import (
	"errors"
	"maps"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestInstanceTypeLimits(t *testing.T) {
	tests := map[string]map[string]string{
		"c2-m4":   {"limits.cpu": "2", "limits.memory": "4096MB"},
		"c2-m4.5": {"limits.cpu": "2", "limits.memory": "4608MB"},
		"c0-m1":   {"limits.memory": "1024MB"},
	}

	for name, want := range tests {
		got, err := InstanceTypeLimits(name)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("%s: got %v %v, want %v", name, got, err, want)
		}
	}

	for _, name := range []string{"t2.micro", "c2", "c2-m0", "c-m4", "c2-m4x", ""} {
		_, err := InstanceTypeLimits(name)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: got %v, want it refused", name, err)
		}
	}

	got, err := ApplyInstanceType(map[string]string{"limits.cpu": "1"}, "c2-m4")
	if err != nil || !maps.Equal(got, map[string]string{"limits.cpu": "1", "limits.memory": "4096MB"}) {
		t.Errorf("with limits.cpu set: got %v %v", got, err)
	}
}
