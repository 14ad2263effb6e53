package filter

import (
	"errors"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

type item struct {
	Name         string            `json:"name"`
	Public       bool              `json:"public"`
	Architecture string            `json:"architecture"`
	Type         string            `json:"type"`
	Properties   map[string]string `json:"properties"`
}

func TestFilter(t *testing.T) {
	items := []item{
		{"a", true, "x86_64", "container", map[string]string{"os": "busybox"}},
		{"b", false, "x86_64", "virtual-machine", map[string]string{"os": "debian", "release": "12"}},
		{"c", false, "aarch64", "container", map[string]string{"os": "debian", "image.os": "x"}},
	}

	tests := []struct {
		expr string
		want string
	}{
		{"", "abc"},
		{"public eq true", "a"},
		{"public eq false", "bc"},
		{"architecture eq x86_64 and type eq container", "a"},
		{"architecture eq aarch64 or public eq true", "ac"},
		{"not type eq container", "b"},
		{"properties.os eq debian and not (architecture eq aarch64)", "b"},
		{"properties.os ne debian", "a"},
		{"properties.release eq '12'", "b"},
		{`properties.image.os eq "x"`, "c"},
		{"name eq nope", ""},
	}

	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}

			got, err := Objects(items, e)
			if err != nil {
				t.Fatal(err)
			}

			names := ""
			for _, g := range got {
				names += g.Name
			}

			if names != tt.want {
				t.Fatalf("got %q, want %q", names, tt.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	for _, expr := range []string{"public", "public eq", "public gt 3", "(public eq true", "public eq true and", "a eq 'b"} {
		_, err := Parse(expr)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: got %v, want an invalid filter error", expr, err)
		}
	}
}
