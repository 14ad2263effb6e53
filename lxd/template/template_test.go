package template

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/template/tplctx"
)

var goldenCtx = tplctx.Context{
	Trigger:    "create",
	Path:       "/etc/hostname",
	Instance:   tplctx.Instance{Name: "c1", Architecture: "x86_64", Privileged: false},
	Config:     map[string]string{"user.greeting": "hi", "limits.cpu": "2"},
	Devices:    map[string]map[string]string{"root": {"type": "disk", "path": "/"}},
	Properties: map[string]string{"default": "fallback"},
}

// TestGolden renders testdata/<case>.tpl and compares with testdata/<case>.golden.
func TestGolden(t *testing.T) {
	tpls, err := filepath.Glob("testdata/*.tpl")
	if err != nil || len(tpls) == 0 {
		t.Fatalf("no golden templates found: %v", err)
	}

	for _, path := range tpls {
		name := strings.TrimSuffix(filepath.Base(path), ".tpl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			want, err := os.ReadFile(strings.TrimSuffix(path, ".tpl") + ".golden")
			if err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			err = Render(&out, name, src, goldenCtx)
			if err != nil {
				t.Fatal(err)
			}

			if out.String() != string(want) {
				t.Fatalf("got %q, want %q", out.String(), want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"include", `{% include "/etc/shadow" %}`, "include"},
		{"ssi", `{% ssi "/etc/shadow" %}`, "ssi"},
		{"extends", `{% extends "/etc/passwd" %}`, "extends"},
		{"import", `{% import "/etc/passwd" x %}`, "import"},
		{"syntax", "line one\n{% if %}", "line 2"},
		{"unclosed", "{% for x in config %}", "for"},
		{"huge output", `{% for a in "0123456789" %}{% for b in "0123456789" %}{% for c in "0123456789" %}{% for d in "0123456789" %}{% for e in "0123456789" %}{% for f in "0123456789" %}{% for g in "0123456789" %}{{ "` + strings.Repeat("x", 200) + `" }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}`, "output larger"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Render(&out, tt.name+".tpl", []byte(tt.src), goldenCtx)
			if err == nil {
				t.Fatalf("rendered %d bytes, want an error", out.Len())
			}

			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.name+".tpl") {
				t.Fatalf("got %q, want the template name and %q", err, tt.want)
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add([]byte("{{ container.name }}"))
	f.Add([]byte("{% if config_get(\"a\", \"b\") == \"b\" %}x{% endif %}"))
	f.Add([]byte("{% for k, v in config %}{{ k }}={{ v }}\n{% endfor %}"))
	for _, h := range hostile {
		f.Add([]byte(h.src))
	}

	f.Fuzz(func(t *testing.T, src []byte) {
		var out bytes.Buffer
		_ = Render(&out, "fuzz.tpl", src, goldenCtx)
		if out.Len() > MaxOutput {
			t.Fatalf("output of %d bytes exceeds the bound", out.Len())
		}
	})
}
