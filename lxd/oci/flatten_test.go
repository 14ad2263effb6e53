package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// flat merges the layers with a flatPlan and extracts the merged tarball into a fresh directory.
func flat(t *testing.T, layers ...[]byte) (string, error) {
	t.Helper()
	p := newFlatPlan()
	for _, l := range layers {
		err := p.layer(context.Background(), bytes.NewReader(l))
		if err != nil {
			return "", err
		}
	}

	entries, err := p.entries()
	if err != nil {
		return "", err
	}

	var buf bytes.Buffer
	open := func(i int) (io.Reader, func(), error) { return bytes.NewReader(layers[i]), func() {}, nil }
	err = writeFlat(context.Background(), &buf, entries, p.nodes["."], len(layers), open)
	if err != nil {
		t.Fatal(err)
	}

	r, closeFn, err := Decompress(&buf)
	if err != nil {
		t.Fatal(err)
	}

	defer closeFn()
	return apply(t, mustRead(t, r))
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}

	return data
}

// describe lists every path under d with its type, mode, content or target, and which paths share an inode.
func describe(t *testing.T, d string) []string {
	t.Helper()
	var out []string
	inodes := map[uint64]string{}
	for _, rel := range tree(t, d) {
		p := filepath.Join(d, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}

		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		switch {
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			line += " " + string(data)
			ino := fi.Sys().(*syscall.Stat_t).Ino
			if first, ok := inodes[ino]; ok {
				line += " =" + first
			} else {
				inodes[ino] = rel
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}

		out = append(out, line)
	}

	return out
}

func TestFlattenMatchesApply(t *testing.T) {
	cases := map[string][][]byte{
		"whiteouts": {
			layer(t, dir("etc"), file("etc/keep", "k"), file("etc/gone", "g"), dir("var"), dir("var/lib"),
				file("var/lib/data", "d"), dir("opq"), file("opq/old", "o"), dir("opq/sub"), file("opq/sub/old", "o")),
			layer(t, file("etc/.wh.gone", ""), file(".wh.var", ""), dir("opq"), file("opq/.wh..wh..opq", ""),
				file("opq/new", "n"), file("etc/added", "a")),
		},
		"opaque keeps the same layer": {
			layer(t, dir("d"), file("d/old", "o")),
			layer(t, file("d/new", "n"), dir("d/sub"), file("d/sub/x", "x"), file("d/.wh..wh..opq", "")),
		},
		"replaces": {
			layer(t, dir("a"), file("a/f", "1"), file("b", "file"), symlink("c", "a")),
			layer(t, file("a", "now a file"), dir("b"), file("b/x", "x"), file("c", "plain")),
		},
		"hard links": {
			layer(t, dir("bin"), file("bin/busybox", "bb"), hardlink("bin/sh", "bin/busybox"), hardlink("./bin/ls", "/bin/busybox")),
			layer(t, dir("bin"), hardlink("bin/cat", "bin/sh")),
		},
		"directory modes": {
			layer(t, tarEntry{name: "d", typ: '5', mode: 0o700}, file("d/f", "f")),
			layer(t, tarEntry{name: "d/", typ: '5', mode: 0o750}, file("d/g", "g"), tarEntry{name: "x", typ: '0', mode: 0o4755, body: "s"}),
		},
		"same path twice in a layer": {
			layer(t, dir("a"), file("a/f", "1"), file("a/f", "2"), dir("b"), file("b", "file now"),
				tarEntry{name: "c", typ: '5', mode: 0o700}, tarEntry{name: "c", typ: '5', mode: 0o711}),
		},
		"whiteout of what the same layer wrote": {
			layer(t, dir("a"), file("a/f", "1")),
			layer(t, file("a/g", "2"), file(".wh.a", "")),
		},
	}

	for name, layers := range cases {
		want, err := apply(t, layers...)
		if err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}

		got, err := flat(t, layers...)
		if err != nil {
			t.Fatalf("%s: flatten: %v", name, err)
		}

		if w, g := describe(t, want), describe(t, got); !slices.Equal(w, g) {
			t.Fatalf("%s:\ngot  %v\nwant %v", name, g, w)
		}
	}
}

func TestFlattenLeavesToApply(t *testing.T) {
	cases := map[string][][]byte{
		"a name through a symbolic link": {
			layer(t, dir("usr"), dir("usr/lib"), symlink("lib", "usr/lib")),
			layer(t, file("lib/x", "x")),
		},
		"an implied directory": {
			layer(t, file("a/b/c", "c")),
		},
		"a hard link whose target changes": {
			layer(t, file("f", "old"), hardlink("g", "f")),
			layer(t, file("f", "new")),
		},
		"a whiteout through a symbolic link": {
			layer(t, dir("usr"), dir("usr/lib"), file("usr/lib/x", "x"), symlink("lib", "usr/lib")),
			layer(t, file("lib/.wh.x", "")),
		},
	}

	for name, layers := range cases {
		_, err := flat(t, layers...)
		if !errors.Is(err, errNotFlat) {
			t.Fatalf("%s: got %v", name, err)
		}

		_, err = apply(t, layers...)
		if err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
	}
}

func TestFlattenRefuses(t *testing.T) {
	cases := map[string][]byte{
		"block device":  layer(t, tarEntry{name: "sda", typ: '4', mode: 0o600, maj: 8}),
		"dot dot":       layer(t, file("../x", "x")),
		"root as file":  layer(t, file(".", "x")),
		"bad whiteout":  layer(t, file(".wh.", "")),
		"empty symlink": layer(t, symlink("s", "")),
		"odd device":    layer(t, tarEntry{name: "mem", typ: '3', mode: 0o600, maj: 1, min: 1}),
	}

	for name, l := range cases {
		p := newFlatPlan()
		err := p.layer(context.Background(), bytes.NewReader(l))
		if err == nil || errors.Is(err, errNotFlat) {
			t.Fatalf("%s: got %v", name, err)
		}

		_, err = apply(t, l)
		if err == nil {
			t.Fatalf("%s: ApplyLayer accepts it", name)
		}
	}
}

// fuzzLayers builds two layers from data: each pair of bytes is one entry, its kind and its name chosen among a few
// that nest, so that replacements, whiteouts, opaque directories, links and names under links meet often.
func fuzzLayers(t *testing.T, data []byte) [][]byte {
	names := []string{"a", "a/b", "a/b/c", "d", "d/e", "a/d", "a/b/d", "e"}
	var layers [][]byte
	var entries []tarEntry
	for i := 0; i+1 < len(data); i += 2 {
		name := names[int(data[i+1])%len(names)]
		other := names[int(data[i+1]/8)%len(names)]
		switch data[i] % 9 {
		case 0:
			layers = append(layers, layer(t, entries...))
			entries = nil
		case 1, 2:
			entries = append(entries, tarEntry{name: name, typ: tar.TypeDir, mode: 0o700 + int64(data[i]%8)})
		case 3, 4:
			entries = append(entries, file(name, string(data[i:i+2])))
		case 5:
			entries = append(entries, symlink(name, other))
		case 6:
			entries = append(entries, hardlink(name, other))
		case 7:
			entries = append(entries, file(path.Join(path.Dir(name), ".wh."+path.Base(name)), ""))
		case 8:
			entries = append(entries, file(path.Join(name, ".wh..wh..opq"), ""))
		}
	}

	return append(layers, layer(t, entries...))
}

func FuzzFlattenMatchesApply(f *testing.F) {
	f.Add([]byte{1, 0, 3, 1, 0, 0, 7, 1, 3, 2})
	f.Add([]byte{1, 3, 3, 4, 6, 5, 0, 0, 3, 4})
	f.Add([]byte{5, 0, 1, 3, 0, 0, 3, 1, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			return
		}

		layers := fuzzLayers(t, data)
		want, applyErr := apply(t, layers...)
		got, flatErr := flat(t, layers...)
		if errors.Is(flatErr, errNotFlat) {
			return
		}

		if (applyErr == nil) != (flatErr == nil) {
			t.Fatalf("apply: %v, flatten: %v", applyErr, flatErr)
		}

		if applyErr != nil {
			return
		}

		if w, g := describe(t, want), describe(t, got); !slices.Equal(w, g) {
			t.Fatalf("\ngot  %v\nwant %v", g, w)
		}
	})
}
