package images

import (
	"bytes"
	"path"
	"strings"
	"testing"
)

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(goodMetadata))
	f.Add([]byte(metaNoTemplates))
	f.Add([]byte("architecture: arm64\ncreation_date: 1\ntemplates:\n  /a:\n    when: [rename]\n    template: a\n"))
	f.Add([]byte("architecture: [x86_64\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(bytes.NewReader(data))
		if err != nil {
			return
		}

		if m.CreationDate <= 0 || m.Architecture == "" {
			t.Fatalf("accepted metadata without the required fields: %+v", m)
		}

		for target, tpl := range m.Templates {
			if !path.IsAbs(target) || hasDotDot(target) {
				t.Fatalf("accepted template target %q", target)
			}

			name, err := templateEntry(tpl.Template)
			if err != nil || !strings.HasPrefix(name, "templates/") || hasDotDot(name) {
				t.Fatalf("accepted template file %q", tpl.Template)
			}
		}

		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}

		_, err = ParseMetadata(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("accepted metadata does not parse back: %v\n%s", err, out)
		}
	})
}

func FuzzValidateTar(f *testing.F) {
	f.Add(makeTar(f, unifiedEntries(goodMetadata)), uint8(layoutUnified))
	f.Add(compressAs(f, CompressionGzip, makeTar(f, unifiedEntries(goodMetadata))), uint8(layoutUnified))
	f.Add(makeTar(f, metaEntries(goodMetadata)), uint8(layoutMeta))
	f.Add(makeTar(f, rootfsTree()), uint8(layoutRootfs))
	f.Add(makeTar(f, renamed(append(unifiedEntries(goodMetadata), strayEntries()...), func(n string) string { return "/" + n })),
		uint8(layoutUnifiedOrMeta))
	for _, b := range badImages(f) {
		if b.split() {
			f.Add(b.meta, uint8(layoutMeta))
			f.Add(b.rootfs, uint8(layoutRootfs))
			continue
		}

		if len(b.unified) <= 64<<10 {
			f.Add(b.unified, uint8(layoutUnified))
		}
	}

	f.Fuzz(func(t *testing.T, data []byte, l uint8) {
		lay := layout(l % 4)
		info, err := validatePart(bytes.NewReader(data), partImage, lay)
		if err != nil {
			var invalid *InvalidError
			if !asInvalid(err, &invalid) {
				t.Fatalf("got a non-invalid error for in-memory data: %v", err)
			}

			return
		}

		if lay != layoutRootfs && info.metadata == nil {
			t.Fatalf("accepted a %v part without metadata", lay)
		}
	})
}
