package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
)

// entry is one tar entry of a test archive.
type entry struct {
	name, link string
	typ        byte
	data       string
	major      int64
	minor      int64
}

func tarball(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Uid: os.Getuid(),
			Gid: os.Getgid(), Devmajor: e.major, Devminor: e.minor}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.data))
		}

		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}

		err := tw.WriteHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}

		_, err = tw.Write([]byte(e.data))
		if err != nil {
			t.Fatal(err)
		}
	}

	err := tw.Close()
	if err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

func TestUnpackTarball(t *testing.T) {
	base := []entry{
		{name: "backup/", typ: tar.TypeDir},
		{name: "backup/index.yaml", typ: tar.TypeReg, data: "name: c1\n"},
		{name: "backup/container/rootfs/etc/", typ: tar.TypeDir},
		{name: "backup/container/rootfs/etc/passwd", typ: tar.TypeReg, data: "root:x:0:0::/root:/bin/sh\n"},
	}

	tests := []struct {
		name  string
		extra []entry
		want  string
	}{
		{name: "valid", extra: []entry{
			{name: "backup/container/rootfs/bin", typ: tar.TypeSymlink, link: "/usr/bin"},
			{name: "backup/container/rootfs/etc/pw", typ: tar.TypeLink, link: "backup/container/rootfs/etc/passwd"},
			{name: "backup/container/rootfs/dev/null", typ: tar.TypeChar, major: 1, minor: 3},
		}},
		{name: "dotdot", extra: []entry{{name: "backup/container/rootfs/../../../x", typ: tar.TypeReg}}, want: `".."`},
		{name: "outside", extra: []entry{{name: "elsewhere", typ: tar.TypeReg}}, want: "outside backup/"},
		{name: "through symlink", extra: []entry{
			{name: "backup/container/rootfs/esc", typ: tar.TypeSymlink, link: "/"},
			{name: "backup/container/rootfs/esc/x", typ: tar.TypeReg},
		}, want: "not a directory"},
		{name: "hard link out", extra: []entry{{name: "backup/container/rootfs/x", typ: tar.TypeLink, link: "/etc/passwd"}},
			want: "not a file appearing earlier"},
		{name: "hard link across trees", extra: []entry{
			{name: "backup/snapshots/s0/rootfs/x", typ: tar.TypeLink, link: "backup/container/rootfs/etc/passwd"},
		}, want: "outside backup/snapshots/s0"},
		{name: "block device", extra: []entry{{name: "backup/container/rootfs/sda", typ: tar.TypeBlock, major: 8}},
			want: "block device"},
		{name: "char device", extra: []entry{{name: "backup/container/rootfs/mem", typ: tar.TypeChar, major: 1, minor: 1}},
			want: "not one of"},
		{name: "twice", extra: []entry{{name: "backup/container/rootfs/etc/passwd", typ: tar.TypeReg}}, want: "twice"},
		{name: "big template", extra: []entry{{name: "backup/container/templates/x.tpl", typ: tar.TypeReg,
			data: strings.Repeat("x", images.MaxMetadataSize+1)}}, want: "larger than"},
		{name: "big rootfs file", extra: []entry{{name: "backup/container/rootfs/templates", typ: tar.TypeReg,
			data: strings.Repeat("x", images.MaxMetadataSize+1)}}},
		{name: "big index", extra: []entry{{name: "backup/snapshots/s0/backup.yaml", typ: tar.TypeReg,
			data: strings.Repeat("x", maxYAMLSize+1)}}, want: "larger than"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			data := tarball(t, append(append([]entry{}, base...), tt.extra...))
			err := unpackTarball(context.Background(), bytes.NewReader(data), dest)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}

				return
			}

			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
}

func TestUnpackTarballTruncated(t *testing.T) {
	data := tarball(t, []entry{{name: "backup/index.yaml", typ: tar.TypeReg, data: strings.Repeat("y", 4096)}})
	err := unpackTarball(context.Background(), bytes.NewReader(data[:1024]), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want a truncated backup", err)
	}
}

func TestUnpackTarballKeepsInside(t *testing.T) {
	dest := t.TempDir()
	data := tarball(t, []entry{
		{name: "backup/container/rootfs/esc", typ: tar.TypeSymlink, link: "../../../../../../"},
		{name: "backup/container/rootfs/esc", typ: tar.TypeDir},
	})
	err := unpackTarball(context.Background(), bytes.NewReader(data), dest)
	if err == nil {
		t.Fatal("a directory replacing a symlink was accepted")
	}

	_, err = os.Lstat(filepath.Join(dest, "backup/container/rootfs/esc"))
	if err != nil {
		t.Fatalf("the symlink itself should stay inside: %v", err)
	}
}

func TestParseInfo(t *testing.T) {
	tests := []struct {
		data string
		want string
	}{
		{"name: c1\ntype: container\nsnapshots: [s0]\n", ""},
		{"type: container\n", "names no instance"},
		{"name: v1\ntype: virtual-machine\n", "not supported"},
		{"name: c1\noptimized: true\n", "optimized backups are not supported"},
		{"name: [\n", "reading backup/index.yaml"},
	}

	for _, tt := range tests {
		_, err := parseInfo([]byte(tt.data))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("parseInfo(%q): got %v, want %q", tt.data, err, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{"backup0": true, "my backup": true, "": false, "a/b": false, ".hidden": false} {
		err := ValidName(name)
		if (err == nil) != ok {
			t.Errorf("ValidName(%q): got %v, want ok=%v", name, err, ok)
		}
	}
}
