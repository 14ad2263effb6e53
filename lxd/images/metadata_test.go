package images

import (
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	cases := []struct {
		name string
		in   string
		arch string
		want string
	}{
		{name: "full", in: goodMetadata, arch: "x86_64"},
		{name: "alias arm64", in: "architecture: arm64\ncreation_date: 1\n", arch: "aarch64"},
		{name: "alias i386", in: "architecture: i386\ncreation_date: 1\n", arch: "i686"},
		{name: "alias armhf", in: "architecture: armhf\ncreation_date: 1\n", arch: "armv7l"},
		{name: "alias ppc64el", in: "architecture: ppc64el\ncreation_date: 1\n", arch: "ppc64le"},
		{name: "s390x", in: "architecture: s390x\ncreation_date: 1\n", arch: "s390x"},
		{name: "riscv64", in: "architecture: riscv64\ncreation_date: 1\n", arch: "riscv64"},
		{name: "unknown keys ignored", in: "architecture: x86_64\ncreation_date: 1\nfoo: [1, 2]\nbar: {a: b}\n", arch: "x86_64"},
		{name: "numeric property", in: "architecture: x86_64\ncreation_date: 1\nproperties:\n  release: 22.04\n", arch: "x86_64"},
		{name: "expiry", in: "architecture: x86_64\ncreation_date: 1\nexpiry_date: 2000000000\n", arch: "x86_64"},
		{name: "every trigger", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n    when: [create, copy, start, rename]\n    template: a.tpl\n", arch: "x86_64"},
		{name: "empty", in: "", want: "no architecture"},
		{name: "not a map", in: "- a\n- b\n", want: "parsing metadata.yaml"},
		{name: "bad yaml", in: "architecture: \"x86_64\ncreation_date: 1\n", want: "parsing metadata.yaml"},
		{name: "duplicate key", in: "architecture: x86_64\narchitecture: i686\ncreation_date: 1\n", want: "parsing metadata.yaml"},
		{name: "unknown arch", in: "architecture: vax\ncreation_date: 1\n", want: `unknown architecture "vax"`},
		{name: "no date", in: "architecture: x86_64\n", want: "creation_date"},
		{name: "zero date", in: "architecture: x86_64\ncreation_date: 0\n", want: "creation_date"},
		{name: "negative date", in: "architecture: x86_64\ncreation_date: -5\n", want: "creation_date"},
		{name: "string date", in: "architecture: x86_64\ncreation_date: yesterday\n", want: "parsing metadata.yaml"},
		{name: "negative expiry", in: "architecture: x86_64\ncreation_date: 1\nexpiry_date: -1\n", want: "expiry_date"},
		{name: "bad when", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n    when: [stop]\n    template: a.tpl\n", want: `unknown trigger "stop"`},
		{name: "relative target", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  a:\n    template: a.tpl\n", want: "not absolute"},
		{name: "dotdot target", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a/../../b:\n    template: a.tpl\n", want: `contains ".."`},
		{name: "no template file", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n    when: [start]\n", want: "no template file"},
		{name: "absolute template file", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n    template: /etc/shadow\n", want: "not a plain relative name"},
		{name: "null template", in: "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n", want: "is empty"},
		{name: "oversized", in: "architecture: x86_64\ncreation_date: 1\n#" + strings.Repeat("x", MaxMetadataSize), want: "larger than 1 MiB"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMetadata(strings.NewReader(c.in))
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got %v, want an error containing %q", err, c.want)
				}

				return
			}

			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}

			if m.Architecture != c.arch {
				t.Errorf("got architecture %q, want %q", m.Architecture, c.arch)
			}
		})
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	m, err := ParseMetadata(strings.NewReader(goodMetadata))
	if err != nil {
		t.Fatal(err)
	}

	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	m2, err := ParseMetadata(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("parsing %s: %v", out, err)
	}

	if m2.Architecture != m.Architecture || m2.CreationDate != m.CreationDate || len(m2.Templates) != len(m.Templates) ||
		m2.Templates["/etc/hosts"].Template != "sub/hosts.tpl" || m2.Properties["description"] != "Busybox x86_64" {
		t.Errorf("got %+v, want %+v", m2, m)
	}
}
